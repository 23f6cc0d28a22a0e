#include "runtime/container/oci/oci_config.hpp"

#include <initializer_list>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/container/oci/seccomp_profile.hpp"

namespace sb::container::oci {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void str(Writer& w, const std::string& s) {
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
}
void key(Writer& w, const char* k) {
  w.Key(k);
}

void str_array(Writer& w, const std::vector<std::string>& items) {
  w.StartArray();
  for (const auto& s : items) str(w, s);
  w.EndArray();
}

// One line of a uid_map/gid_map: ids [container_id, +size) are [host_id, +size).
void id_mapping(Writer& w, uint32_t container_id, uint32_t host_id, uint32_t size) {
  w.StartArray();
  w.StartObject();
  key(w, "containerID");
  w.Uint(container_id);
  key(w, "hostID");
  w.Uint(host_id);
  key(w, "size");
  w.Uint(size);
  w.EndObject();
  w.EndArray();
}

void mount(Writer& w, const std::string& dest, const std::string& type, const std::string& source,
           const std::vector<std::string>& options, const std::optional<IdMount>& idmap = std::nullopt) {
  w.StartObject();
  key(w, "destination");
  str(w, dest);
  key(w, "type");
  str(w, type);
  key(w, "source");
  str(w, source);
  key(w, "options");
  str_array(w, options);
  if (idmap) {
    key(w, "uidMappings");
    id_mapping(w, idmap->on_disk.uid, idmap->process.uid, 1);
    key(w, "gidMappings");
    id_mapping(w, idmap->on_disk.gid, idmap->process.gid, 1);
  }
  w.EndObject();
}

void seccomp(Writer& w, const SeccompProfile& profile) {
  w.StartObject();
  key(w, "defaultAction");
  str(w, "SCMP_ACT_ALLOW");
  key(w, "architectures");
  str_array(w, profile.architectures);
  key(w, "syscalls");
  w.StartArray();
  for (const auto& rule : profile.rules) {
    w.StartObject();
    key(w, "names");
    str_array(w, rule.names);
    key(w, "action");
    str(w, "SCMP_ACT_ERRNO");
    key(w, "errnoRet");
    w.Uint(static_cast<unsigned>(rule.errno_ret));
    if (!rule.args.empty()) {
      key(w, "args");
      w.StartArray();
      for (const auto& a : rule.args) {
        w.StartObject();
        key(w, "index");
        w.Uint(a.index);
        key(w, "value");
        w.Uint64(a.value);
        key(w, "valueTwo");
        w.Uint64(a.value_two);
        key(w, "op");
        str(w, seccomp_op_name(a.op));
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

// The same paths runc's default spec hides or freezes: kernel interfaces that leak host
// information or allow host-wide changes.
const std::vector<std::string> kMaskedPaths = {"/proc/acpi",
                                               "/proc/asound",
                                               "/proc/kcore",
                                               "/proc/keys",
                                               "/proc/latency_stats",
                                               "/proc/timer_list",
                                               "/proc/timer_stats",
                                               "/proc/sched_debug",
                                               "/proc/scsi",
                                               "/sys/firmware",
                                               "/sys/devices/virtual/powercap"};
const std::vector<std::string> kReadonlyPaths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                 "/proc/sysrq-trigger"};

bool absolute_clean(const std::string& p) {
  return !p.empty() && p[0] == '/' && p.find("/../") == std::string::npos && !p.ends_with("/..") &&
         p.find('\0') == std::string::npos;
}

}  // namespace

Status check_user_namespace(const ContainerSpec& spec) {
  if (!spec.user_namespace) return {};
  const IdRange& r = *spec.user_namespace;
  if (r.host_base == 0)
    return make_error("container.bad_userns", "a user namespace never maps container ids onto host uid 0");
  if (r.size == 0 || uint64_t{r.host_base} + r.size > uint64_t{kMaxHostId} + 1)
    return make_error("container.bad_userns", "user namespace range " + std::to_string(r.host_base) + "+" +
                                                  std::to_string(r.size) + " does not fit the host's ids");
  if (!r.contains(spec.uid) || !r.contains(spec.gid))
    return make_error("container.bad_userns", "uid/gid " + std::to_string(spec.uid) + "/" + std::to_string(spec.gid) +
                                                  " lies outside the user namespace (size " + std::to_string(r.size) +
                                                  ")");
  return {};
}

std::optional<IdMount> idmap_for(const ContainerSpec& spec, const Mount& m) {
  if (!m.owner) return std::nullopt;
  return IdMount{*m.owner, HostOwner{spec.host_uid(), spec.host_gid()}};
}

std::string hostname_for(const std::string& name) {
  std::string base = name.substr(name.find_last_of('/') == std::string::npos ? 0 : name.find_last_of('/') + 1);
  std::string out;
  for (char c : base) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    out.push_back(ok ? c : '-');
  }
  while (!out.empty() && out.front() == '-') out.erase(out.begin());
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "squadbox" : out;
}

Result<std::vector<std::string>> process_args(const ContainerSpec& spec, const ImageDefaults& image) {
  if (!spec.command.empty()) return spec.command;
  std::vector<std::string> args = image.entrypoint;
  args.insert(args.end(), image.cmd.begin(), image.cmd.end());
  if (args.empty())
    return make_error("container.no_command",
                      "no command given and image '" + spec.image + "' has no entrypoint or cmd");
  return args;
}

std::vector<std::string> process_env(const ContainerSpec& spec, const ImageDefaults& image) {
  std::string path = kDefaultPath;
  for (const auto& kv : image.env)
    if (kv.starts_with("PATH=")) path = kv.substr(5);
  std::vector<std::string> env;
  if (!spec.env.contains("PATH")) env.push_back("PATH=" + path);
  for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
  return env;
}

Result<std::string> build_oci_config(const OciConfigInput& in) {
  const ContainerSpec& spec = *in.spec;
  // Defence in depth: the validator already refuses root, but a root container must
  // never be produced even if a caller skipped it.
  if (spec.uid == 0 || spec.gid == 0) return make_error("container.root_uid", "containers never run as uid/gid 0");
  if (auto s = check_user_namespace(spec); !s) return s.error();
  for (const auto& m : spec.mounts.mounts())
    if (m.owner && (m.owner->uid == 0 || m.owner->gid == 0))
      return make_error("container.bad_mount", "an idmapped mount never maps to host root: " + m.host_path);
  auto args = process_args(spec, in.image);
  if (!args) return args.error();
  if (!in.mount_sources.empty() && in.mount_sources.size() != spec.mounts.mounts().size())
    return make_error("container.bad_mount", "one mount source per mount is needed");
  for (const auto& src : in.mount_sources)
    if (!absolute_clean(src)) return make_error("container.bad_mount", "mount source must be absolute: " + src);
  for (const auto& m : spec.mounts.mounts())
    if (!absolute_clean(m.host_path) || !absolute_clean(m.container_path))
      return make_error("container.bad_mount",
                        "mount paths must be absolute: " + m.host_path + " -> " + m.container_path);

  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  key(w, "ociVersion");
  str(w, "1.0.2");

  key(w, "process");
  w.StartObject();
  key(w, "terminal");
  w.Bool(false);
  key(w, "user");
  w.StartObject();
  key(w, "uid");
  w.Uint(spec.uid);
  key(w, "gid");
  w.Uint(spec.gid);
  key(w, "additionalGids");
  w.StartArray();
  w.EndArray();
  w.EndObject();
  key(w, "args");
  str_array(w, *args);
  key(w, "env");
  str_array(w, process_env(spec, in.image));
  std::string cwd = !spec.workdir.empty() ? spec.workdir : !in.image.workdir.empty() ? in.image.workdir : "/";
  key(w, "cwd");
  str(w, cwd);
  // No capabilities at all: the agent needs none, and an empty bounding set means
  // nothing it execs can regain any.
  key(w, "capabilities");
  w.StartObject();
  for (const char* set : {"bounding", "effective", "inheritable", "permitted", "ambient"}) {
    key(w, set);
    w.StartArray();
    w.EndArray();
  }
  w.EndObject();
  key(w, "rlimits");
  w.StartArray();
  w.StartObject();
  key(w, "type");
  str(w, "RLIMIT_NOFILE");
  key(w, "hard");
  w.Uint64(1024);
  key(w, "soft");
  w.Uint64(1024);
  w.EndObject();
  w.EndArray();
  key(w, "noNewPrivileges");
  w.Bool(true);
  w.EndObject();  // process

  key(w, "root");
  w.StartObject();
  key(w, "path");
  str(w, in.rootfs);
  key(w, "readonly");
  w.Bool(true);
  w.EndObject();
  key(w, "hostname");
  str(w, in.hostname.empty() ? hostname_for(spec.name) : in.hostname);

  key(w, "mounts");
  w.StartArray();
  mount(w, "/proc", "proc", "proc", {"nosuid", "noexec", "nodev"});
  mount(w, "/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"});
  mount(w, "/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"});
  mount(w, "/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"});
  mount(w, "/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"});
  mount(w, "/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"});
  // The root is read-only; /tmp is the one writable scratch space (bounded).
  mount(w, "/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777", "size=64m"});
  // The runtime's staged sources (staged_mounts.hpp) bind the very directories
  // MountPolicy checked, whatever happened to their paths since.
  const auto& mounts = spec.mounts.mounts();
  for (size_t i = 0; i < mounts.size(); ++i)
    mount(w, mounts[i].container_path, "bind", i < in.mount_sources.size() ? in.mount_sources[i] : mounts[i].host_path,
          {"rbind", mounts[i].read_write ? "rw" : "ro", "nosuid", "nodev"}, idmap_for(spec, mounts[i]));
  w.EndArray();

  key(w, "annotations");
  w.StartObject();
  for (const auto& [k, v] : spec.labels) {
    key(w, k.c_str());
    str(w, v);
  }
  w.EndObject();

  key(w, "linux");
  w.StartObject();
  // A namespace without a path is a fresh one; a fresh network namespace holds only a
  // loopback interface, so the container has no network.
  key(w, "namespaces");
  w.StartArray();
  for (const char* ns : {"pid", "network", "ipc", "uts", "mount", "cgroup"}) {
    w.StartObject();
    key(w, "type");
    str(w, ns);
    w.EndObject();
  }
  if (spec.user_namespace) {
    w.StartObject();
    key(w, "type");
    str(w, "user");
    w.EndObject();
  }
  w.EndArray();
  if (spec.user_namespace) {
    // The whole range, so that ids inside (nobody, a tool's own users) are all distinct
    // host ids of this range; container uid 0 is host_base, never host root.
    key(w, "uidMappings");
    id_mapping(w, 0, spec.user_namespace->host_base, spec.user_namespace->size);
    key(w, "gidMappings");
    id_mapping(w, 0, spec.user_namespace->host_base, spec.user_namespace->size);
  }
  key(w, "seccomp");
  seccomp(w, default_seccomp_profile());
  if (!in.cgroups_path.empty()) {
    key(w, "cgroupsPath");
    str(w, in.cgroups_path);
  }
  key(w, "resources");
  w.StartObject();
  key(w, "devices");
  w.StartArray();
  w.StartObject();
  key(w, "allow");
  w.Bool(false);
  key(w, "access");
  str(w, "rwm");
  w.EndObject();
  w.EndArray();
  if (spec.limits.memory_bytes > 0) {
    key(w, "memory");
    w.StartObject();
    key(w, "limit");
    w.Int64(spec.limits.memory_bytes);
    // memory+swap == memory: the container cannot escape its limit into swap.
    key(w, "swap");
    w.Int64(spec.limits.memory_bytes);
    w.EndObject();
  }
  if (spec.limits.pids > 0) {
    key(w, "pids");
    w.StartObject();
    key(w, "limit");
    w.Int64(spec.limits.pids);
    w.EndObject();
  }
  if (spec.limits.cpu_millis > 0) {
    constexpr int64_t kPeriodUs = 100000;
    key(w, "cpu");
    w.StartObject();
    key(w, "quota");
    w.Int64(spec.limits.cpu_millis * kPeriodUs / 1000);
    key(w, "period");
    w.Uint64(kPeriodUs);
    w.EndObject();
  }
  w.EndObject();  // resources
  key(w, "maskedPaths");
  str_array(w, kMaskedPaths);
  key(w, "readonlyPaths");
  str_array(w, kReadonlyPaths);
  w.EndObject();  // linux

  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace sb::container::oci
