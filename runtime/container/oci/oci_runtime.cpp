#include "runtime/container/oci/oci_runtime.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/container/oci/oci_config.hpp"
#include "runtime/container/oci/proc_security.hpp"
#include "runtime/container/oci/staged_mounts.hpp"
#include "runtime/core/fs.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace sb::container::oci {
namespace fs = std::filesystem;
namespace {

// "" when missing or unreadable.
std::string slurp(const fs::path& p) {
  auto content = read_file(p.string());
  return content ? std::move(*content) : std::string();
}

bool write_text(const fs::path& p, const std::string& text) {
  // Write-then-rename: readers (list/inspect from other threads) never see half a file.
  return write_file_atomic(p.string(), text, {.mode = 0644, .durable = false}).ok();
}

std::string labels_json(const Labels& labels) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  for (const auto& [k, v] : labels) {
    w.Key(k.c_str());
    w.String(v.c_str());
  }
  w.EndObject();
  return buf.GetString();
}

std::string spec_json(const std::string& id, const ContainerSpec& spec) {
  // Enough to identify and explain a container; env values are left out on purpose.
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("id");
  w.String(id.c_str());
  w.Key("name");
  w.String(spec.name.c_str());
  w.Key("image");
  w.String(spec.image.c_str());
  w.Key("uid");
  w.Uint(spec.uid);
  w.Key("memory_bytes");
  w.Int64(spec.limits.memory_bytes);
  w.Key("pids");
  w.Int64(spec.limits.pids);
  w.Key("cpu_millis");
  w.Int64(spec.limits.cpu_millis);
  w.Key("env_keys");
  w.StartArray();
  for (const auto& [k, v] : spec.env) w.String(k.c_str());
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

std::string exit_json(const ExitStatus& e) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("exit_code");
  w.Int(e.exit_code);
  w.Key("signal");
  w.Int(e.signal);
  w.Key("oom_killed");
  w.Bool(e.oom_killed);
  w.EndObject();
  return buf.GetString();
}

std::optional<ExitStatus> read_exit(const fs::path& p) {
  std::error_code ec;
  if (!fs::exists(p, ec)) return std::nullopt;
  rapidjson::Document d;
  d.Parse(slurp(p).c_str());
  if (d.HasParseError() || !d.IsObject()) return std::nullopt;
  ExitStatus e;
  if (d.HasMember("exit_code") && d["exit_code"].IsInt()) e.exit_code = d["exit_code"].GetInt();
  if (d.HasMember("signal") && d["signal"].IsInt()) e.signal = d["signal"].GetInt();
  if (d.HasMember("oom_killed") && d["oom_killed"].IsBool()) e.oom_killed = d["oom_killed"].GetBool();
  return e;
}

Labels read_labels(const fs::path& p) {
  Labels out;
  rapidjson::Document d;
  d.Parse(slurp(p).c_str());
  if (d.HasParseError() || !d.IsObject()) return out;
  for (const auto& m : d.GetObject())
    if (m.value.IsString()) out[m.name.GetString()] = m.value.GetString();
  return out;
}

std::string read_string_field(const fs::path& p, const char* field) {
  rapidjson::Document d;
  d.Parse(slurp(p).c_str());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember(field) || !d[field].IsString()) return {};
  return d[field].GetString();
}

// "oom_kill N" line of memory.oom_control (v1) or memory.events (v2).
bool oom_count_positive(const fs::path& file) {
  std::istringstream in(slurp(file));
  std::string key;
  long long value = 0;
  while (in >> key >> value)
    if (key == "oom_kill") return value > 0;
  return false;
}

bool not_found_message(const std::string& text) {
  return text.find("does not exist") != std::string::npos ||
         text.find("No such file or directory") != std::string::npos || text.find("not found") != std::string::npos;
}

}  // namespace

OciRuntime::OciRuntime(OciRuntimeOptions options, ImageStore& images) : options_(std::move(options)), images_(images) {
  // See the header: the container init becomes our child once `create` returns.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) sb::log::warn("oci.subreaper_failed", {{"error", std::strerror(errno)}});
  std::error_code ec;
  fs::create_directories(options_.state_dir, ec);
  fs::permissions(options_.state_dir, fs::perms(0700), ec);
  clear_stale_stages(options_.state_dir / ".stage");
  if (options_.runtime_root.empty()) options_.runtime_root = options_.state_dir / ".runtime";
  fs::create_directories(options_.runtime_root, ec);
  fs::permissions(options_.runtime_root, fs::perms(0700), ec);
}

Result<ProcessResult> OciRuntime::oci(std::vector<std::string> args) const {
  std::vector<std::string> argv = {options_.runtime_binary, "--root", options_.runtime_root.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, {.output_file = {}, .timeout = options_.command_timeout});
}

std::string OciRuntime::cgroup_path(const std::string& id) const {
  return "/squadbox/" + id;
}

Result<RuntimeVersion> OciRuntime::version() {
  auto r =
      run_process({options_.runtime_binary, "--version"}, {.output_file = {}, .timeout = options_.command_timeout});
  if (!r) return r.error();
  if (!r->ok()) return make_error("runtime.unavailable", r->describe(options_.runtime_binary));
  RuntimeVersion v{"oci", "", ""};
  std::istringstream in(r->out);
  for (std::string line; std::getline(in, line);) {
    if (v.version.empty()) {
      // "crun version 1.8.1" -> "crun 1.8.1"
      auto pos = line.find(" version ");
      v.version = pos == std::string::npos ? line : line.substr(0, pos) + " " + line.substr(pos + 9);
    } else if (line.starts_with("spec: ")) {
      v.api_version = line.substr(6);
    }
  }
  return v;
}

Result<std::string> OciRuntime::create(const ContainerSpec& spec) {
  auto image = images_.resolve(spec.image);
  if (!image) return image.error();
  const std::string id = "sb-" + random_hex(10);  // 20 hex digits
  Labels labels = spec.labels;
  labels.try_emplace(kLabelInstall, options_.install_id);
  ContainerSpec labelled = spec;  // annotations carry the labels too
  labelled.labels = labels;

  OciConfigInput in;
  in.spec = &labelled;
  in.rootfs = image->rootfs.string();
  in.image = image->defaults;
  in.cgroups_path = cgroup_path(id);
  // Pinned mounts are staged from their fds; the stages go when this returns, after
  // `crun create` has built the container's mount namespace (staged_mounts.hpp).
  auto staged = StagedMounts::stage(spec.mounts, options_.state_dir / ".stage", id, spec.user_namespace.has_value());
  if (!staged) return staged.error();
  in.mount_sources = (*staged)->sources();
  // A user-namespaced container reaches its rootfs relative to the bundle (StagedRootfs).
  const bool userns = spec.user_namespace.has_value();
  if (userns) in.rootfs = StagedRootfs::kName;
  auto config = build_oci_config(in);
  if (!config) return config.error();

  fs::path dir = bundle(id);
  std::error_code ec;
  fs::create_directory(dir, ec);
  if (ec) return make_error("container.create_failed", "cannot create bundle " + dir.string() + ": " + ec.message());
  // config.json holds the env: 0600, in a bundle that is 0700, or 0711 (searchable only)
  // when the container's root must reach <bundle>/rootfs from inside its user namespace.
  fs::permissions(dir, fs::perms(userns ? 0711 : 0700), ec);
  if (!write_file_atomic((dir / "config.json").string(), *config, {.mode = 0600, .durable = false}).ok() ||
      !write_text(dir / "labels.json", labels_json(labels)) || !write_text(dir / "spec.json", spec_json(id, spec))) {
    fs::remove_all(dir, ec);
    return make_error("container.create_failed", "cannot write bundle " + dir.string());
  }
  std::unique_ptr<StagedRootfs> staged_rootfs;
  if (userns) {
    if (auto made = ensure_mount_points(image->rootfs, root_mount_points(spec.mounts)); !made) {
      fs::remove_all(dir, ec);
      return made.error();
    }
    for (const auto& nested : nested_mount_points(spec.mounts))
      if (auto made = ensure_mount_points(in.mount_sources[nested.parent], {nested.relative}); !made) {
        fs::remove_all(dir, ec);
        // Name the host folder it was made in: the message alone says only the inner path.
        return make_error(made.error().code, made.error().message + " (in " + in.mount_sources[nested.parent] +
                                                 ", mounted at " + spec.mounts.mounts()[nested.parent].container_path +
                                                 ")");
      }
    auto r = StagedRootfs::stage(image->rootfs, dir);
    if (!r) {
      StagedRootfs::detach(dir);
      fs::remove_all(dir, ec);
      return r.error();
    }
    staged_rootfs = std::move(*r);
  }
  // The container inherits stdout/stderr, so they go to a file, not a pipe (see
  // SpawnOptions); the runtime's own errors land in the same file, read back on failure.
  std::vector<std::string> argv = {options_.runtime_binary,
                                   "--root",
                                   options_.runtime_root.string(),
                                   "create",
                                   "--bundle",
                                   dir.string(),
                                   "--pid-file",
                                   (dir / "pid").string(),
                                   id};
  auto r = run_process(argv, {.output_file = (dir / "output.log").string(), .timeout = options_.command_timeout});
  if (!r || !r->ok()) {
    std::string why =
        r ? ProcessResult{r->exit_code, "", slurp(dir / "output.log")}.describe(options_.runtime_binary + " create")
          : r.error().message;
    (void)oci({"delete", "--force", id});
    staged_rootfs.reset();  // detached before the bundle goes
    fs::remove_all(dir, ec);
    return make_error("container.create_failed", why);
  }
  sb::log::info("oci.created", {{"id", id}, {"name", spec.name}, {"image", image->ref.str()}});
  return id;
}

Status OciRuntime::start(const std::string& id) {
  auto r = oci({"start", id});
  if (!r) return r.error();
  if (!r->ok()) return make_error("container.start_failed", r->describe(options_.runtime_binary + " start"));
  return {};
}

bool OciRuntime::oom_killed(const std::string& id) const {
  std::error_code ec;
  if (fs::exists("/sys/fs/cgroup/cgroup.controllers", ec))  // pure cgroup v2
    return oom_count_positive(fs::path("/sys/fs/cgroup" + cgroup_path(id)) / "memory.events");
  return oom_count_positive(fs::path("/sys/fs/cgroup/memory" + cgroup_path(id)) / "memory.oom_control");
}

Result<ExitStatus> OciRuntime::reap(const std::string& id, std::chrono::milliseconds timeout) {
  fs::path dir = bundle(id);
  if (auto e = read_exit(dir / "exit.json")) return *e;
  std::string pid_text = slurp(dir / "pid");
  pid_t pid = static_cast<pid_t>(std::atoi(pid_text.c_str()));
  if (pid <= 0) return make_error("container.not_found", "no container '" + id + "'");
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd.get() >= 0) {
    pollfd pfd{pidfd.get(), POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      int n = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
      if (n > 0) break;
      if (n == 0) return make_error("container.timeout", "container '" + id + "' still running");
      if (errno != EINTR) break;
    }
  }
  std::lock_guard lock(reap_mutex_);
  if (auto e = read_exit(dir / "exit.json")) return *e;  // another thread got it first
  siginfo_t si{};
  int rc = pidfd.get() >= 0
               ? ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd.get()), &si, WEXITED | WNOHANG)
               : ::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG);
  if (rc != 0 || si.si_pid == 0)
    return make_error("container.exit_unknown",
                      "exit status of '" + id + "' is unknown (not started by this process, or already gone)");
  ExitStatus e;
  if (si.si_code == CLD_EXITED) {
    e.exit_code = si.si_status;
  } else {
    e.signal = si.si_status;
    e.exit_code = 128 + si.si_status;
  }
  e.oom_killed = oom_killed(id);  // the cgroup lives until `delete`
  write_text(dir / "exit.json", exit_json(e));
  sb::log::info("oci.exited",
                {{"id", id}, {"exit_code", e.exit_code}, {"signal", e.signal}, {"oom_killed", e.oom_killed}});
  return e;
}

Result<ExitStatus> OciRuntime::wait(const std::string& id, std::chrono::milliseconds timeout) {
  std::error_code ec;
  if (!fs::exists(bundle(id), ec)) return make_error("container.not_found", "no container '" + id + "'");
  return reap(id, timeout);
}

Status OciRuntime::kill(const std::string& id, int signal) {
  auto r = oci({"kill", id, std::to_string(signal)});
  if (!r) return r.error();
  if (!r->ok()) {
    std::string why = r->describe(options_.runtime_binary + " kill");
    return make_error(not_found_message(why) ? "container.not_found" : "container.kill_failed", why);
  }
  return {};
}

Status OciRuntime::remove(const std::string& id, bool force) {
  fs::path dir = bundle(id);
  std::error_code ec;
  if (id.empty() || id.find('/') != std::string::npos || id.starts_with("."))
    return make_error("container.bad_id", "invalid container id '" + id + "'");
  auto state = oci({"state", id});
  bool known = state && state->ok();
  if (force) {
    if (known) (void)oci({"kill", id, "KILL"});
    // Reap the init so the runtime sees it stopped (a zombie still counts as alive).
    if (fs::exists(dir / "pid", ec)) (void)reap(id, std::chrono::seconds(10));
  } else if (fs::exists(dir / "pid", ec)) {
    auto e = reap(id, std::chrono::milliseconds(0));
    if (!e && e.error().code == "container.timeout")
      return make_error("container.running", "container '" + id + "' is running; stop it or remove with force");
  }
  if (known) {
    std::vector<std::string> args = {"delete"};
    if (force) args.push_back("--force");
    args.push_back(id);
    auto r = oci(args);
    if (!r) return r.error();
    if (!r->ok() && !not_found_message(r->err))
      return make_error("container.remove_failed", r->describe(options_.runtime_binary + " delete"));
  }
  StagedRootfs::detach(dir);  // a stage left by a crash mid-create: never delete through it
  fs::remove_all(dir, ec);
  if (ec) return make_error("container.remove_failed", "cannot remove " + dir.string() + ": " + ec.message());
  sb::log::info("oci.removed", {{"id", id}, {"force", force}});
  return {};
}

Result<ContainerInfo> OciRuntime::inspect(const std::string& id) {
  fs::path dir = bundle(id);
  std::error_code ec;
  if (id.empty() || id.find('/') != std::string::npos || !fs::exists(dir / "labels.json", ec))
    return make_error("container.not_found", "no container '" + id + "'");
  ContainerInfo info;
  info.id = id;
  info.name = read_string_field(dir / "spec.json", "name");
  info.labels = read_labels(dir / "labels.json");
  info.pid = std::atoi(slurp(dir / "pid").c_str());
  auto exited = reap(id, std::chrono::milliseconds(0));
  if (exited) {
    info.state = ContainerState::exited;
    info.exit = *exited;
    return info;
  }
  auto r = oci({"state", id});
  if (!r) return r.error();
  if (!r->ok()) return info;  // bundle without runtime state (crashed create): unknown
  rapidjson::Document d;
  d.Parse(r->out.c_str());
  std::string status = !d.HasParseError() && d.IsObject() && d.HasMember("status") && d["status"].IsString()
                           ? d["status"].GetString()
                           : "";
  if (status == "created")
    info.state = ContainerState::created;
  else if (status == "running")
    info.state = ContainerState::running;
  else if (status == "stopped")
    info.state = ContainerState::exited;
  return info;
}

Result<SecurityProfile> OciRuntime::security_profile(const std::string& id) {
  if (id.empty() || id.find('/') != std::string::npos || id.starts_with("."))
    return make_error("container.bad_id", "invalid container id '" + id + "'");
  auto running_pid = [&]() -> Result<int> {
    auto r = oci({"state", id});
    if (!r) return r.error();
    if (!r->ok()) {
      std::string why = r->describe(options_.runtime_binary + " state");
      return make_error(not_found_message(why) ? "container.not_found" : "container.inspect_failed", why);
    }
    auto state = parse_oci_state(r->out);
    if (!state) return state.error();
    if (state->status != "running" || state->pid <= 0)
      return make_error("container.not_running", "container '" + id + "' is " + state->status);
    return state->pid;
  };
  auto pid = running_pid();
  if (!pid) return pid.error();
  const fs::path proc = fs::path("/proc") / std::to_string(*pid);
  auto link = [](const fs::path& p) {
    std::error_code ec;
    auto target = fs::read_symlink(p, ec);
    return ec ? std::string() : target.string();
  };
  ProcSnapshot snap;
  snap.status = slurp(proc / "status");
  snap.mountinfo = slurp(proc / "mountinfo");
  snap.host_mountinfo = slurp("/proc/self/mountinfo");
  for (const char* ns : {"pid", "net", "ipc", "uts", "mnt", "user", "cgroup"}) {
    snap.namespaces[ns] = link(proc / "ns" / ns);
    for (const char* host : {"/proc/1/ns", "/proc/self/ns"})
      if (auto l = link(fs::path(host) / ns); !l.empty()) snap.host_namespaces[ns].insert(l);
  }
  if (int last = std::atoi(slurp("/proc/sys/kernel/cap_last_cap").c_str()); last > 0) snap.cap_last_cap = last;
  // The container may have ended while we read: its pid could then be someone else's.
  auto again = running_pid();
  if (!again || *again != *pid || snap.status.empty())
    return make_error("container.not_running", "container '" + id + "' ended while it was observed");
  return profile_from_proc(snap);
}

Result<std::vector<ContainerInfo>> OciRuntime::list(const Labels& selector) {
  std::vector<ContainerInfo> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.state_dir, ec)) {
    std::string id = entry.path().filename().string();
    if (!id.starts_with("sb-")) continue;
    Labels labels = read_labels(entry.path() / "labels.json");
    bool match = true;
    for (const auto& [k, v] : selector) {
      auto it = labels.find(k);
      if (it == labels.end() || it->second != v) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    auto info = inspect(id);
    if (info) out.push_back(std::move(*info));  // removed meanwhile: skip
  }
  return out;
}

}  // namespace sb::container::oci
