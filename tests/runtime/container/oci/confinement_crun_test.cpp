// Container confinement against real crun (root): the default seccomp profile refuses
// new user namespaces, keyrings and mounts from inside; a user namespace puts the
// container's uids in its own host range; an idmapped workspace gives what the agent
// writes to the workspace's owner. docs/security.md "Container confinement".
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "runtime/container/mount_policy.hpp"
#include "runtime/container/run_identity.hpp"
#include "tests/runtime/container/oci/oci_test_support.hpp"
#include "tests/support/child_process.hpp"

namespace sb::container::oci::test {
namespace {

using namespace std::chrono_literals;

// The range of a namespace in slot `slot` with the default layout.
IdRange confine_range(int64_t slot) {
  auto r = id_range_for_slot({}, slot);
  EXPECT_TRUE(r.ok());
  return r ? *r : IdRange{};
}

// "Uid:\treal\teffective\tsaved\tfs" of a host pid, as the host sees it.
uint32_t confine_host_uid(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("Uid:")) {
      std::istringstream fields(line.substr(4));
      uint32_t uid = 0;
      fields >> uid;
      return uid;
    }
  return 0;
}

class ConfinementTest : public OciFixture {
 protected:
  static void SetUpTestSuite() {
    OciFixture::SetUpTestSuite();
    if (::geteuid() != 0) return;
    // The probe as the image's "agent": the busybox image plus one static binary.
    auto st = store_->build_default_image(sb::test::bin_dir() + "/sb_syscall_probe", "probe:1");
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  // The probe making one syscall; its exit code is the errno (0: allowed).
  static ContainerSpec probe(const std::string& call, std::optional<IdRange> userns = confine_range(1)) {
    ContainerSpec s = spec({"/usr/local/bin/squadbox-agent", call});
    s.image = "probe:1";
    s.user_namespace = userns;
    return s;
  }
  static ContainerSpec confined_sh(const std::string& script) {
    ContainerSpec s = sh(script);
    s.user_namespace = confine_range(1);
    return s;
  }

  // Starts `s` (a long sleep), returns the container's host uid, removes it.
  uint32_t running_host_uid(const ContainerSpec& s) {
    auto id = runtime_->create(s);
    EXPECT_TRUE(id.ok()) << id.error().message;
    if (!id) return 0;
    EXPECT_TRUE(runtime_->start(*id).ok());
    auto info = runtime_->inspect(*id);
    uint32_t uid = info ? confine_host_uid(info->pid) : 0;
    EXPECT_TRUE(runtime_->remove(*id, true).ok());
    return uid;
  }
};

TEST_F(ConfinementTest, NewUserNamespaceIsRefused) {
  EXPECT_EQ(run(probe("unshare_user")).exit_code, EPERM);
  EXPECT_EQ(run(probe("clone_user")).exit_code, EPERM);
  // clone3 cannot be filtered on its flags: ENOSYS sends glibc back to clone.
  EXPECT_EQ(run(probe("clone3")).exit_code, ENOSYS);
  // busybox's unshare(1), as an agent would try it.
  EXPECT_NE(run(confined_sh("unshare -U true")).exit_code, 0);
  // Without a user namespace of its own the profile applies the same.
  EXPECT_EQ(run(probe("unshare_user", std::nullopt)).exit_code, EPERM);
}

TEST_F(ConfinementTest, OrdinaryProcessesStillWork) {
  // The filter must not break what every agent does: fork (clone without namespace
  // flags), a shell pipeline, personality(0).
  EXPECT_EQ(run(probe("fork")).exit_code, 0);
  EXPECT_EQ(run(probe("personality=0")).exit_code, 0);
  EXPECT_EQ(run(confined_sh("echo a | grep -q a && (true) && exit 5")).exit_code, 5);
}

TEST_F(ConfinementTest, KeyringsAreRefused) {
  EXPECT_EQ(run(probe("keyctl")).exit_code, EPERM);
  EXPECT_EQ(run(probe("add_key")).exit_code, EPERM);
}

TEST_F(ConfinementTest, MountIsRefused) {
  // mount() would be EPERM for want of CAP_SYS_ADMIN too; open_tree without
  // OPEN_TREE_CLONE needs no privilege, so only the filter makes it fail.
  EXPECT_EQ(run(probe("mount")).exit_code, EPERM);
  EXPECT_NE(run(confined_sh("mount -t tmpfs none /tmp")).exit_code, 0);
  EXPECT_EQ(run(probe("open_tree")).exit_code, EPERM);
  EXPECT_EQ(run(probe("open_tree", std::nullopt)).exit_code, EPERM);
}

TEST_F(ConfinementTest, OtherDeniedSyscalls) {
  for (const char* call : {"setns", "bpf", "io_uring_setup", "ptrace", "personality=0x400000"})
    EXPECT_EQ(run(probe(call)).exit_code, EPERM) << call;
}

TEST_F(ConfinementTest, ContainerUidsLieInTheNamespaceRange) {
  auto s = spec({"/bin/sleep", "1000"});
  s.user_namespace = confine_range(1);
  const uint32_t host = running_host_uid(s);
  EXPECT_EQ(host, confine_range(1).host_base + 65534);
  EXPECT_NE(host, 0u);
  // Inside, the process is nobody, and uid 0 would be host_base, not host root.
  std::string script = "test \"$(id -u)\" = 65534 && grep -q \"^ *0 *" + std::to_string(confine_range(1).host_base) +
                       " *65536\" /proc/self/uid_map";
  EXPECT_EQ(run(confined_sh(script)).exit_code, 0);
}

TEST_F(ConfinementTest, TwoNamespacesHaveDifferentHostUids) {
  auto a = spec({"/bin/sleep", "1000"});
  a.user_namespace = confine_range(1);
  auto b = a;
  b.user_namespace = confine_range(2);
  const uint32_t ua = running_host_uid(a);
  const uint32_t ub = running_host_uid(b);
  EXPECT_NE(ua, ub);
  EXPECT_GE(ua, kDefaultIdRangeBase);
  EXPECT_GE(ub, kDefaultIdRangeBase);
  // Disjoint ranges, not only different uids.
  EXPECT_GE(confine_range(2).host_base, confine_range(1).host_base + confine_range(1).size);
}

TEST_F(ConfinementTest, WorkspaceFilesBelongToTheWorkspaceOwner) {
  // The operator's workspace (uid/gid 4242, not the container's), mounted rw through the
  // staged, idmapped bind.
  TempDir ws_root;
  const fs::path ws = ws_root.path() / "ws";
  fs::create_directory(ws);
  ::chmod(ws_root.path().c_str(), 0755);
  ASSERT_EQ(::chown(ws.c_str(), 4242, 4242), 0);
  RunMountRequest req;
  req.workspace = ws.string();
  req.workspace_read_write = true;
  req.workspace_owner = HostOwner{4242, 4242};
  // The IPC directory is mounted inside the workspace, as in every run: its mount point
  // has to be made in the idmapped workspace.
  const fs::path ipc = ws_root.path() / "ipc";
  fs::create_directory(ipc);
  req.ipc_dir = ipc.string();
  auto mounts = MountPolicy::validate(req);
  ASSERT_TRUE(mounts.ok()) << mounts.error().message;
  auto s = confined_sh("echo hi > /workspace/out && mkdir /workspace/d && test -O /workspace/out");
  s.mounts = std::move(*mounts);
  ASSERT_EQ(run(s).exit_code, 0);
  struct stat st {};
  ASSERT_EQ(::stat((ws / "out").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4242u);
  EXPECT_EQ(st.st_gid, 4242u);
  ASSERT_EQ(::stat((ws / "d").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4242u);
}

TEST_F(ConfinementTest, WorkspaceWithoutIdmapBelongsToTheNamespaceIds) {
  // A workspace handed to the namespace (root-owned before): the container's host ids.
  TempDir ws_root;
  const fs::path ws = ws_root.path() / "ws";
  fs::create_directory(ws);
  ::chmod(ws_root.path().c_str(), 0755);
  const uint32_t host = confine_range(1).host_base + 65534;
  ASSERT_EQ(::chown(ws.c_str(), host, host), 0);
  RunMountRequest req;
  req.workspace = ws.string();
  req.workspace_read_write = true;
  auto mounts = MountPolicy::validate(req);
  ASSERT_TRUE(mounts.ok()) << mounts.error().message;
  auto s = confined_sh("echo hi > /workspace/out");
  s.mounts = std::move(*mounts);
  ASSERT_EQ(run(s).exit_code, 0);
  struct stat st {};
  ASSERT_EQ(::stat((ws / "out").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, host);
}

TEST_F(ConfinementTest, ReadOnlyMountStaysReadOnlyInUserNamespace) {
  TempDir ws_root;
  const fs::path ws = ws_root.path() / "ws";
  fs::create_directory(ws);
  ::chmod(ws_root.path().c_str(), 0755);
  ASSERT_EQ(::chown(ws.c_str(), 4242, 4242), 0);
  RunMountRequest req;
  req.workspace = ws.string();
  req.workspace_read_write = false;
  req.workspace_owner = HostOwner{4242, 4242};
  auto mounts = MountPolicy::validate(req);
  ASSERT_TRUE(mounts.ok()) << mounts.error().message;
  auto s = confined_sh("touch /workspace/out");
  s.mounts = std::move(*mounts);
  EXPECT_NE(run(s).exit_code, 0);
  EXPECT_FALSE(fs::exists(ws / "out"));
}

}  // namespace
}  // namespace sb::container::oci::test
