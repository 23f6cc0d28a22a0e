// Backend observation parsers of the security audit, on fixtures: /proc text for the
// oci backend (captured from a crun container on the build machine, then edited to
// cover drift), Docker Engine 26 inspect JSON for the docker backend.
#include <gtest/gtest.h>

#include "runtime/container/docker/docker_json.hpp"
#include "runtime/container/oci/proc_security.hpp"

namespace sb::container {
namespace {

// /proc/<pid>/status of a container made by our oci config (trimmed).
constexpr const char* kCleanStatus =
    "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t65534\t65534\t65534\t65534\n"
    "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
    "CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t0\n";

// A hand-written config that added CAP_NET_ADMIN (12) and CAP_SYS_ADMIN (21): a non-root
// process keeps them only in its bounding set.
constexpr const char* kSysAdminStatus =
    "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
    "CapBnd:\t0000000000201000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n";

constexpr const char* kPrivilegedStatus =
    "CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n"
    "CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n";

// The node's /proc/self/mountinfo (build machine), plus a host bind mount of /home/u
// at /mnt/u and a second disk mounted below /only.
constexpr const char* kHostMountinfo =
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "23 27 0:22 / /sys rw,relatime - sysfs sysfs rw\n"
    "24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334460k,mode=755\n"
    "25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw\n"
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n"
    "43 27 254:0 /var/lib/containers/storage/overlay /var/lib/containers/storage/overlay rw,relatime - ext4 "
    "/dev/vda rw\n"
    "50 27 254:0 /home/u /mnt/u rw,relatime shared:7 - ext4 /dev/vda rw\n"
    "51 27 8:1 /only /media/only rw,relatime - ext4 /dev/sda1 rw\n";

// /proc/<pid>/mountinfo of a crun container (our config: rootfs, kernel filesystems,
// /dev/null masks, two approved binds) with drift appended: the host's /dev/shm, a
// path on the second disk no host mount reaches, and a read-only superblock.
constexpr const char* kContainerMountinfo =
    "69 45 254:0 /tmp/b/rootfs / ro,relatime - ext4 /dev/vda rw,discard\n"
    "70 69 0:41 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
    "71 69 0:42 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755\n"
    "72 71 0:43 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,mode=620,ptmxmode=666\n"
    "73 71 0:44 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k\n"
    "74 71 0:40 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw\n"
    "75 69 0:22 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs rw\n"
    "76 69 0:46 / /tmp rw,nosuid,nodev,relatime - tmpfs tmpfs rw,size=65536k\n"
    "77 69 254:0 /tmp/ws /workspace ro,nosuid,nodev,relatime - ext4 /dev/vda rw,discard\n"
    "78 77 254:0 /srv/my\\040ipc /workspace/ipc rw,nosuid,nodev,relatime shared:5 master:1 - ext4 /dev/vda rw\n"
    "79 70 0:6 /null /proc/keys ro,relatime - devtmpfs devtmpfs rw\n"
    "80 70 0:41 /sys /proc/sys ro,relatime - proc proc rw\n"
    "81 69 0:23 /leak /mnt/shm rw,relatime - tmpfs tmpfs rw\n"
    "82 69 8:1 /elsewhere /hidden rw - ext4 /dev/sda1 rw\n"
    "83 69 254:0 /home/u/p /workspace/extra/p rw,relatime - ext4 /dev/vda ro\n"
    "84 69 0:99 / /fresh rw - ext4 /dev/sdz rw\n"
    "garbage line\n"
    "85 69 254:0 / /short rw\n";

TEST(ScanProcStatus, ParsesCapabilityMasksAndNoNewPrivs) {
  auto st = oci::parse_proc_status(kSysAdminStatus);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->cap_bnd, 0x201000u);
  EXPECT_EQ(st->cap_eff, 0u);
  EXPECT_FALSE(st->no_new_privs);
  EXPECT_EQ(oci::capability_set(st->cap_bnd), (std::set<std::string>{"CAP_NET_ADMIN", "CAP_SYS_ADMIN"}));
  auto clean = oci::parse_proc_status(kCleanStatus);
  ASSERT_TRUE(clean.ok());
  EXPECT_TRUE(clean->no_new_privs);
}

TEST(ScanProcStatus, BadInputIsAnError) {
  for (const char* bad :
       {"", "CapEff:\tzz\nCapPrm:\t0\nCapBnd:\t0\nNoNewPrivs:\t1\n",
        "CapPrm:\t0\nCapBnd:\t0\nNoNewPrivs:\t1\n",  // no CapEff
        "CapEff:\t0\nCapPrm:\t0\nCapBnd:\t0\n",      // no NoNewPrivs
        "CapEff:\t0\nCapPrm:\t0\nCapBnd:\t0\nNoNewPrivs:\t2\n", "CapEff:\t\nCapPrm:\t0\nCapBnd:\t0\nNoNewPrivs:\t1\n",
        "CapEff:\t10000000000000000\nCapPrm:\t0\nCapBnd:\t0\nNoNewPrivs:\t1\n"}) {
    auto st = oci::parse_proc_status(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, "proc.bad_status");
  }
}

TEST(ScanCapabilities, NamesAndNormalization) {
  EXPECT_EQ(capability_name(0), "CAP_CHOWN");
  EXPECT_EQ(capability_name(21), "CAP_SYS_ADMIN");
  EXPECT_EQ(capability_name(40), "CAP_CHECKPOINT_RESTORE");
  EXPECT_EQ(capability_name(41), "CAP_41");
  EXPECT_EQ(normalize_capability("sys_admin"), "CAP_SYS_ADMIN");
  EXPECT_EQ(normalize_capability("CAP_NET_RAW"), "CAP_NET_RAW");
  EXPECT_EQ(normalize_capability("all"), "ALL");
  EXPECT_EQ(all_capabilities().size(), 41u);
}

TEST(ScanMountInfo, ParsesFieldsEscapesAndOptionalFields) {
  auto entries = oci::parse_mountinfo(kContainerMountinfo);
  ASSERT_EQ(entries.size(), 16u);  // the garbage and the truncated line are skipped
  EXPECT_EQ(entries[9].root, "/srv/my ipc");
  EXPECT_EQ(entries[9].mount_point, "/workspace/ipc");
  EXPECT_EQ(entries[9].fs_type, "ext4");
  EXPECT_EQ(entries[9].source, "/dev/vda");
  EXPECT_TRUE(entries[9].read_write);
  EXPECT_FALSE(entries[8].read_write);   // ro per mount
  EXPECT_FALSE(entries[14].read_write);  // rw per mount, ro superblock
  EXPECT_EQ(entries[0].device, "254:0");
}

TEST(ScanMountInfo, HostMountsAreNamedByTheirHostPath) {
  auto mounts = oci::host_mounts(oci::parse_mountinfo(kContainerMountinfo), oci::parse_mountinfo(kHostMountinfo));
  std::vector<std::string> seen;
  for (const auto& m : mounts) seen.push_back(m.source + " -> " + m.destination + (m.read_write ? " rw" : " ro"));
  EXPECT_EQ(seen, (std::vector<std::string>{"/tmp/ws -> /workspace ro", "/srv/my ipc -> /workspace/ipc rw",
                                            "/dev/shm/leak -> /mnt/shm rw", "8:1:/elsewhere -> /hidden rw",
                                            "/mnt/u/p -> /workspace/extra/p ro"}));
  // /home/u/p is also reachable as itself on the host root: an alias.
  EXPECT_EQ(mounts[4].aliases, std::vector<std::string>{"/home/u/p"});
}

TEST(ScanMountInfo, EmptyOrForeignTextGivesNothing) {
  EXPECT_TRUE(oci::parse_mountinfo("").empty());
  EXPECT_TRUE(oci::parse_mountinfo("not a mountinfo\n1 2 3\n").empty());
  EXPECT_TRUE(oci::host_mounts(oci::parse_mountinfo(kContainerMountinfo), {}).empty());
}

oci::ProcSnapshot snapshot(const char* status) {
  oci::ProcSnapshot s;
  s.status = status;
  s.mountinfo = kContainerMountinfo;
  s.host_mountinfo = kHostMountinfo;
  s.namespaces = {{"pid", "pid:[4026532180]"},
                  {"net", "net:[4026531833]"},
                  {"user", "user:[4026531837]"},
                  {"mnt", "mnt:[4026532177]"},
                  {"uts", ""}};
  s.host_namespaces = {{"pid", {"pid:[4026531836]"}},
                       {"net", {"net:[4026531833]"}},
                       {"user", {"user:[4026531837]"}},
                       {"mnt", {"mnt:[4026531832]", "mnt:[4026532001]"}},
                       {"uts", {""}}};
  return s;
}

TEST(ScanProcProfile, CombinesStatusNamespacesAndMounts) {
  auto p = oci::profile_from_proc(snapshot(kSysAdminStatus));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE(p->privileged);
  EXPECT_TRUE(p->capabilities.empty());
  EXPECT_EQ(p->bounding, (std::set<std::string>{"CAP_NET_ADMIN", "CAP_SYS_ADMIN"}));
  EXPECT_FALSE(p->no_new_privileges);
  // An unreadable link ("") never counts as shared.
  EXPECT_EQ(p->host_namespaces, (std::set<std::string>{"net", "user"}));
  EXPECT_EQ(p->mounts.size(), 5u);
}

TEST(ScanProcProfile, FullCapabilitySetIsPrivileged) {
  auto p = oci::profile_from_proc(snapshot(kPrivilegedStatus));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->privileged);
  EXPECT_EQ(p->capabilities.size(), 41u);
  auto s = snapshot(kPrivilegedStatus);
  s.cap_last_cap = 41;  // a newer kernel: bit 41 is not set, so not everything
  EXPECT_FALSE(oci::profile_from_proc(s)->privileged);
  EXPECT_FALSE(oci::profile_from_proc(snapshot("Name:\tx\n")).ok());
}

TEST(ScanOciState, ParsesStatusAndPid) {
  auto s = oci::parse_oci_state(R"({"ociVersion":"1.0.0","id":"x","pid":8711,"status":"running","bundle":"/b"})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->status, "running");
  EXPECT_EQ(s->pid, 8711);
  EXPECT_EQ(oci::parse_oci_state(R"({"id":"x","pid":0,"status":"stopped"})")->pid, 0);
  for (const char* bad : {"", "[]", "{\"pid\":1}", "{not json"}) {
    auto r = oci::parse_oci_state(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "oci.bad_state");
  }
}

// GET /containers/{id}/json of a container made by our create_body (Docker 26.1,
// trimmed to what matters).
constexpr const char* kDockerOurs = R"({
  "Id": "4b1e", "Name": "/sbtest", "State": {"Status": "running", "Running": true, "Pid": 4242},
  "Config": {"Labels": {"io.squadbox.install": "i1"}},
  "HostConfig": {"Binds": ["/srv/ws:/workspace:ro"], "NetworkMode": "none", "PidMode": "", "IpcMode": "private",
                 "UTSMode": "", "UsernsMode": "", "CgroupnsMode": "host", "CapAdd": null, "CapDrop": ["ALL"],
                 "Privileged": false, "SecurityOpt": ["no-new-privileges"], "ReadonlyRootfs": true,
                 "Tmpfs": {"/tmp": "rw,nosuid,nodev,size=64m,mode=1777"}},
  "Mounts": [{"Type": "bind", "Source": "/srv/ws", "Destination": "/workspace", "Mode": "ro", "RW": false,
              "Propagation": "rprivate"}]
})";

TEST(ScanDockerProfile, OurContainerIsTheBaseline) {
  auto p = docker::parse_security_profile(kDockerOurs);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE(p->privileged);
  EXPECT_TRUE(p->capabilities.empty());
  EXPECT_TRUE(p->no_new_privileges);
  EXPECT_EQ(p->host_namespaces, std::set<std::string>{"cgroup"});
  ASSERT_EQ(p->mounts.size(), 1u);
  EXPECT_EQ(p->mounts[0].source, "/srv/ws");
  EXPECT_EQ(p->mounts[0].destination, "/workspace");
  EXPECT_FALSE(p->mounts[0].read_write);
}

TEST(ScanDockerProfile, DriftIsReported) {
  constexpr const char* kDrift = R"({
    "Id": "9a", "State": {"Status": "running"},
    "HostConfig": {"NetworkMode": "host", "PidMode": "host", "IpcMode": "host", "UTSMode": "host",
                   "UsernsMode": "host", "CgroupnsMode": "private", "CapAdd": ["sys_admin", "CAP_NET_RAW"],
                   "CapDrop": null, "Privileged": false, "SecurityOpt": null},
    "Mounts": [{"Type": "volume", "Name": "v", "Source": "/var/lib/docker/volumes/v/_data", "Destination": "/data",
                "RW": true},
               {"Type": "tmpfs", "Source": "", "Destination": "/scratch", "RW": true},
               {"Type": "bind", "Source": "/", "Destination": "/host", "RW": true}]
  })";
  auto p = docker::parse_security_profile(kDrift);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE(p->no_new_privileges);
  EXPECT_EQ(p->host_namespaces, (std::set<std::string>{"ipc", "net", "pid", "user", "uts"}));
  EXPECT_TRUE(p->capabilities.contains("CAP_SYS_ADMIN"));
  EXPECT_TRUE(p->capabilities.contains("CAP_CHOWN"));  // nothing dropped: Docker's defaults
  EXPECT_EQ(p->capabilities, p->bounding);
  ASSERT_EQ(p->mounts.size(), 2u);  // tmpfs is not a host mount
  EXPECT_EQ(p->mounts[0].type, "volume");
  EXPECT_TRUE(p->mounts[1].read_write);
}

TEST(ScanDockerProfile, PrivilegedHasEveryCapability) {
  auto p = docker::parse_security_profile(
      R"({"Id":"1","HostConfig":{"Privileged":true,"CapDrop":["ALL"],"SecurityOpt":["no-new-privileges:true"]},
          "Mounts":[]})");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->privileged);
  EXPECT_EQ(p->capabilities.size(), 41u);
  EXPECT_TRUE(p->no_new_privileges);
}

TEST(ScanDockerProfile, BadInputIsAnError) {
  for (const char* bad :
       {"", "[]", "{\"Id\":\"1\"}", "{\"HostConfig\":7}",
        R"({"HostConfig":{},"Mounts":[{"Type":"bind","Source":"/x"}]})", R"({"HostConfig":{},"Mounts":[3]})"}) {
    auto p = docker::parse_security_profile(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.error().code, "docker.bad_response");
  }
}

TEST(ScanDockerCapabilities, FollowMobysRules) {
  using docker::effective_capabilities;
  EXPECT_TRUE(effective_capabilities(false, {}, {"ALL"}).empty());
  EXPECT_EQ(effective_capabilities(false, {"NET_ADMIN"}, {"ALL"}), std::set<std::string>{"CAP_NET_ADMIN"});
  EXPECT_EQ(effective_capabilities(false, {}, {}).size(), docker::kDefaultCapabilities.size());
  auto dropped = effective_capabilities(false, {}, {"chown"});
  EXPECT_EQ(dropped.size(), docker::kDefaultCapabilities.size() - 1);
  EXPECT_FALSE(dropped.contains("CAP_CHOWN"));
  auto all_but = effective_capabilities(false, {"ALL"}, {"SYS_ADMIN"});
  EXPECT_EQ(all_but.size(), 40u);
  EXPECT_FALSE(all_but.contains("CAP_SYS_ADMIN"));
  EXPECT_EQ(effective_capabilities(true, {}, {"ALL"}).size(), 41u);
}

}  // namespace
}  // namespace sb::container
