// build_oci_config is pure: every security-relevant field of config.json is asserted.
#include "runtime/container/oci/oci_config.hpp"

#include <algorithm>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "runtime/container/mount_policy.hpp"
#include "runtime/container/oci/seccomp_profile.hpp"
#include "runtime/container/run_identity.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::container::oci {
namespace {

rapidjson::Document build(const ContainerSpec& spec, ImageDefaults image = {}) {
  OciConfigInput in;
  in.spec = &spec;
  in.rootfs = "/images/a/latest/rootfs";
  in.image = std::move(image);
  in.cgroups_path = "/squadbox/sb-1";
  auto json = build_oci_config(in);
  EXPECT_TRUE(json.ok()) << (json.ok() ? "" : json.error().message);
  rapidjson::Document d;
  d.Parse(json.ok() ? json->c_str() : "{}");
  EXPECT_FALSE(d.HasParseError());
  return d;
}

ContainerSpec base_spec() {
  ContainerSpec s;
  s.name = "team/alpha:main";
  s.image = "squadbox-agent:latest";
  s.command = {"/bin/sh", "-c", "true"};
  s.env = {{"FOO", "bar"}};
  s.labels = {{"io.squadbox.run", "r1"}};
  s.limits = {16ll << 20, 32, 500};
  return s;
}

std::vector<std::string> strings(const rapidjson::Value& a) {
  std::vector<std::string> out;
  for (const auto& v : a.GetArray()) out.emplace_back(v.GetString());
  return out;
}

const rapidjson::Value* mount_at(const rapidjson::Document& d, const std::string& dest) {
  for (const auto& m : d["mounts"].GetArray())
    if (dest == m["destination"].GetString()) return &m;
  return nullptr;
}

TEST(OciConfig, ProcessIsUnprivileged) {
  auto d = build(base_spec());
  const auto& p = d["process"];
  EXPECT_EQ(p["user"]["uid"].GetUint(), 65534u);
  EXPECT_EQ(p["user"]["gid"].GetUint(), 65534u);
  EXPECT_TRUE(p["noNewPrivileges"].GetBool());
  EXPECT_FALSE(p["terminal"].GetBool());
  for (const char* set : {"bounding", "effective", "inheritable", "permitted", "ambient"})
    EXPECT_TRUE(p["capabilities"][set].Empty()) << set;
  EXPECT_EQ(strings(p["args"]), (std::vector<std::string>{"/bin/sh", "-c", "true"}));
  EXPECT_STREQ(p["cwd"].GetString(), "/workspace");
}

TEST(OciConfig, EnvIsExactlySpecPlusPath) {
  auto d = build(base_spec(), {{}, {}, {"PATH=/opt/bin", "IMAGE_VAR=x"}, ""});
  EXPECT_EQ(strings(d["process"]["env"]), (std::vector<std::string>{"PATH=/opt/bin", "FOO=bar"}));
  auto spec = base_spec();
  spec.env["PATH"] = "/mine";
  auto d2 = build(spec);
  EXPECT_EQ(strings(d2["process"]["env"]), (std::vector<std::string>{"FOO=bar", "PATH=/mine"}));
  auto d3 = build(base_spec());
  EXPECT_EQ(strings(d3["process"]["env"])[0], std::string("PATH=") + kDefaultPath);
}

TEST(OciConfig, RootReadOnlyAndTmpfs) {
  auto d = build(base_spec());
  EXPECT_TRUE(d["root"]["readonly"].GetBool());
  EXPECT_STREQ(d["root"]["path"].GetString(), "/images/a/latest/rootfs");
  auto* tmp = mount_at(d, "/tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_STREQ((*tmp)["type"].GetString(), "tmpfs");
  EXPECT_EQ(strings((*tmp)["options"]), (std::vector<std::string>{"nosuid", "nodev", "mode=1777", "size=64m"}));
  for (const char* m : {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"})
    EXPECT_NE(mount_at(d, m), nullptr) << m;
  auto sys = strings((*mount_at(d, "/sys"))["options"]);
  EXPECT_NE(std::find(sys.begin(), sys.end(), "ro"), sys.end());
}

TEST(OciConfig, NamespacesIncludeEmptyNetwork) {
  auto d = build(base_spec());
  std::vector<std::string> types;
  for (const auto& ns : d["linux"]["namespaces"].GetArray()) {
    types.emplace_back(ns["type"].GetString());
    EXPECT_FALSE(ns.HasMember("path")) << "joining an existing namespace: " << types.back();
  }
  for (const char* t : {"pid", "network", "ipc", "uts", "mount"})
    EXPECT_NE(std::find(types.begin(), types.end(), t), types.end()) << t;
}

TEST(OciConfig, ResourceLimits) {
  auto d = build(base_spec());
  const auto& r = d["linux"]["resources"];
  EXPECT_EQ(r["memory"]["limit"].GetInt64(), 16ll << 20);
  EXPECT_EQ(r["memory"]["swap"].GetInt64(), 16ll << 20);
  EXPECT_EQ(r["pids"]["limit"].GetInt64(), 32);
  EXPECT_EQ(r["cpu"]["quota"].GetInt64(), 50000);
  EXPECT_EQ(r["cpu"]["period"].GetUint64(), 100000u);
  EXPECT_STREQ(d["linux"]["cgroupsPath"].GetString(), "/squadbox/sb-1");

  auto spec = base_spec();
  spec.limits = {0, 0, 0};
  auto u = build(spec);
  EXPECT_FALSE(u["linux"]["resources"].HasMember("memory"));
  EXPECT_FALSE(u["linux"]["resources"].HasMember("pids"));
  EXPECT_FALSE(u["linux"]["resources"].HasMember("cpu"));
}

TEST(OciConfig, MaskedPathsAnnotationsHostname) {
  auto d = build(base_spec());
  auto masked = strings(d["linux"]["maskedPaths"]);
  EXPECT_NE(std::find(masked.begin(), masked.end(), "/proc/kcore"), masked.end());
  auto ro = strings(d["linux"]["readonlyPaths"]);
  EXPECT_NE(std::find(ro.begin(), ro.end(), "/proc/sys"), ro.end());
  EXPECT_STREQ(d["annotations"]["io.squadbox.run"].GetString(), "r1");
  EXPECT_STREQ(d["hostname"].GetString(), "alpha-main");
  EXPECT_EQ(hostname_for("---"), "squadbox");
  EXPECT_EQ(hostname_for(std::string(100, 'a')).size(), 63u);
}

TEST(OciConfig, ImageEntrypointWhenNoCommand) {
  auto spec = base_spec();
  spec.command.clear();
  auto d = build(spec, {{"/usr/local/bin/squadbox-agent"}, {"--serve"}, {}, "/w"});
  EXPECT_EQ(strings(d["process"]["args"]), (std::vector<std::string>{"/usr/local/bin/squadbox-agent", "--serve"}));
  OciConfigInput in;
  in.spec = &spec;
  auto none = build_oci_config(in);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "container.no_command");
}

TEST(OciConfig, RefusesRoot) {
  auto spec = base_spec();
  spec.uid = 0;
  OciConfigInput in;
  in.spec = &spec;
  auto r = build_oci_config(in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "container.root_uid");
  spec.uid = 1000;
  spec.gid = 0;
  EXPECT_FALSE(build_oci_config(in).ok());
}

// --- Confinement (docs/security.md "Container confinement") ---

ContainerSpec namespaced_spec(int64_t slot) {
  auto s = base_spec();
  auto range = id_range_for_slot({}, slot);
  EXPECT_TRUE(range);
  s.user_namespace = *range;
  return s;
}

std::vector<std::string> seccomp_names(const rapidjson::Document& d, const char* errno_filter = nullptr) {
  std::vector<std::string> out;
  for (const auto& r : d["linux"]["seccomp"]["syscalls"].GetArray()) {
    if (r.HasMember("args")) continue;
    if (errno_filter && r["errnoRet"].GetUint() != static_cast<unsigned>(std::atoi(errno_filter))) continue;
    for (const auto& n : r["names"].GetArray()) out.emplace_back(n.GetString());
  }
  return out;
}

TEST(OciConfig, SeccompDeniesTheDangerousSyscalls) {
  auto d = build(base_spec());
  ASSERT_TRUE(d["linux"].HasMember("seccomp"));
  const auto& sc = d["linux"]["seccomp"];
  EXPECT_STREQ(sc["defaultAction"].GetString(), "SCMP_ACT_ALLOW");
  auto arches = strings(sc["architectures"]);
  for (const char* a : {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"})
    EXPECT_NE(std::find(arches.begin(), arches.end(), a), arches.end()) << a;
  for (const auto& r : sc["syscalls"].GetArray()) EXPECT_STREQ(r["action"].GetString(), "SCMP_ACT_ERRNO");
  const auto eperm = seccomp_names(d, "1");
  for (const char* name : {"setns",
                           "keyctl",
                           "add_key",
                           "request_key",
                           "bpf",
                           "userfaultfd",
                           "perf_event_open",
                           "mount",
                           "umount2",
                           "pivot_root",
                           "move_mount",
                           "open_tree",
                           "fsopen",
                           "fsmount",
                           "fsconfig",
                           "fspick",
                           "mount_setattr",
                           "kexec_load",
                           "kexec_file_load",
                           "ptrace",
                           "process_vm_readv",
                           "process_vm_writev",
                           "init_module",
                           "finit_module",
                           "delete_module",
                           "reboot",
                           "swapon",
                           "swapoff",
                           "acct",
                           "quotactl",
                           "lookup_dcookie",
                           "open_by_handle_at",
                           "name_to_handle_at",
                           "iopl",
                           "ioperm",
                           "syslog",
                           "settimeofday",
                           "clock_settime",
                           "adjtimex",
                           "chroot",
                           "vhangup",
                           "nfsservctl",
                           "io_uring_setup"})
    EXPECT_NE(std::find(eperm.begin(), eperm.end(), name), eperm.end()) << name;
  const auto enosys = seccomp_names(d, "38");
  EXPECT_EQ(enosys, std::vector<std::string>{"clone3"});
}

TEST(OciConfig, SeccompFiltersCloneNewUser) {
  auto d = build(base_spec());
  bool clone = false, unshare = false;
  for (const auto& r : d["linux"]["seccomp"]["syscalls"].GetArray()) {
    if (!r.HasMember("args")) continue;
    auto names = strings(r["names"]);
    if (std::find(names.begin(), names.end(), "clone") == names.end()) continue;
    ASSERT_EQ(r["args"].Size(), 1u);
    const auto& a = r["args"][0];
    EXPECT_EQ(a["index"].GetUint(), 0u);
    EXPECT_EQ(a["value"].GetUint64(), kCloneNewUser);
    EXPECT_EQ(a["valueTwo"].GetUint64(), kCloneNewUser);
    EXPECT_STREQ(a["op"].GetString(), "SCMP_CMP_MASKED_EQ");
    EXPECT_EQ(r["errnoRet"].GetUint(), 1u);
    clone = true;
    unshare = std::find(names.begin(), names.end(), "unshare") != names.end();
  }
  EXPECT_TRUE(clone);
  EXPECT_TRUE(unshare);
}

TEST(OciConfig, UserNamespaceWithTheNamespaceRange) {
  auto d = build(namespaced_spec(3));
  std::vector<std::string> types;
  for (const auto& ns : d["linux"]["namespaces"].GetArray()) types.emplace_back(ns["type"].GetString());
  EXPECT_NE(std::find(types.begin(), types.end(), "user"), types.end());
  for (const char* m : {"uidMappings", "gidMappings"}) {
    const auto& maps = d["linux"][m];
    ASSERT_EQ(maps.Size(), 1u) << m;
    EXPECT_EQ(maps[0]["containerID"].GetUint(), 0u);
    EXPECT_EQ(maps[0]["hostID"].GetUint(), 200000u + 3u * 65536u);
    EXPECT_EQ(maps[0]["size"].GetUint(), 65536u);
  }
  // Without a range: no user namespace, no mappings (the spec decides, never a default).
  auto plain = build(base_spec());
  for (const auto& ns : plain["linux"]["namespaces"].GetArray()) EXPECT_STRNE(ns["type"].GetString(), "user");
  EXPECT_FALSE(plain["linux"].HasMember("uidMappings"));
}

TEST(OciConfig, NamespaceMappingsAreDisjointAndNeverHostRoot) {
  // Host ids [hostID, hostID + size) of slots 0..63: pairwise disjoint, none is 0.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (int64_t slot = 0; slot < 64; ++slot) {
    auto d = build(namespaced_spec(slot));
    for (const char* m : {"uidMappings", "gidMappings"})
      for (const auto& line : d["linux"][m].GetArray()) {
        EXPECT_NE(line["hostID"].GetUint(), 0u);
        if (std::string(m) == "uidMappings")
          ranges.emplace_back(line["hostID"].GetUint(), line["hostID"].GetUint() + line["size"].GetUint());
      }
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) EXPECT_LE(ranges[i - 1].second, ranges[i].first) << i;
}

TEST(OciConfig, RefusesUserNamespaceOnHostRootOrTooSmall) {
  auto spec = base_spec();
  OciConfigInput in;
  in.spec = &spec;
  spec.user_namespace = IdRange{0, 65536};
  EXPECT_EQ(build_oci_config(in).error().code, "container.bad_userns");
  spec.user_namespace = IdRange{200000, 1000};  // nobody (65534) outside the range
  EXPECT_EQ(build_oci_config(in).error().code, "container.bad_userns");
  spec.user_namespace = IdRange{kMaxHostId - 100, 65536};
  EXPECT_EQ(build_oci_config(in).error().code, "container.bad_userns");
}

TEST(OciConfig, WorkspaceIdmapMapsTheOwnerOntoTheProcess) {
  sb::test::TempDir dir;
  RunMountRequest req;
  req.workspace = dir.path();
  req.workspace_read_write = true;
  req.workspace_owner = HostOwner{1000, 1001};
  auto mounts = MountPolicy::validate(req);
  ASSERT_TRUE(mounts) << mounts.error().message;
  auto spec = namespaced_spec(2);
  spec.mounts = std::move(*mounts);
  auto d = build(spec);
  const auto* ws = mount_at(d, "/workspace");
  ASSERT_NE(ws, nullptr);
  // crun writes {containerID, hostID, size} into the mount's uid_map as is: on-disk
  // owner -> the process's host id (verified with crun 1.8.1: the file is the owner's).
  const uint32_t host = 200000u + 2u * 65536u + 65534u;
  EXPECT_EQ((*ws)["uidMappings"][0]["containerID"].GetUint(), 1000u);
  EXPECT_EQ((*ws)["uidMappings"][0]["hostID"].GetUint(), host);
  EXPECT_EQ((*ws)["uidMappings"][0]["size"].GetUint(), 1u);
  EXPECT_EQ((*ws)["gidMappings"][0]["containerID"].GetUint(), 1001u);
  EXPECT_EQ((*ws)["gidMappings"][0]["hostID"].GetUint(), host);
  // No owner, no idmap.
  req.workspace_owner.reset();
  auto plain = MountPolicy::validate(req);
  ASSERT_TRUE(plain);
  spec.mounts = std::move(*plain);
  auto p = build(spec);
  EXPECT_FALSE(mount_at(p, "/workspace")->HasMember("uidMappings"));
}

TEST(OciConfig, RefusesAnIdmapOntoHostRoot) {
  sb::test::TempDir dir;
  RunMountRequest req;
  req.workspace = dir.path();
  req.workspace_read_write = true;
  req.workspace_owner = HostOwner{0, 0};
  auto mounts = MountPolicy::validate(req);
  ASSERT_TRUE(mounts) << mounts.error().message;
  auto spec = namespaced_spec(1);
  spec.mounts = std::move(*mounts);
  OciConfigInput in;
  in.spec = &spec;
  EXPECT_EQ(build_oci_config(in).error().code, "container.bad_mount");
}

}  // namespace
}  // namespace sb::container::oci
