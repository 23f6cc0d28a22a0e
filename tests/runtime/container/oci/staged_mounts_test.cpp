// Mount points a user-namespaced container needs made on the host side
// (staged_mounts.hpp): which ones, and never through a symlink of the image.
#include "runtime/container/oci/staged_mounts.hpp"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "runtime/container/mount_policy.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::container::oci {
namespace {

namespace fs = std::filesystem;

ValidatedMounts run_mounts(const sb::test::TempDir& dir) {
  fs::create_directories(dir.file("ws"));
  fs::create_directories(dir.file("ipc"));
  fs::create_directories(dir.file("session"));
  RunMountRequest req;
  req.workspace = dir.file("ws");
  req.workspace_read_write = true;
  req.ipc_dir = dir.file("ipc");
  req.session_dir = dir.file("session");
  auto m = MountPolicy::validate(req);
  EXPECT_TRUE(m) << m.error().message;
  return m ? std::move(*m) : ValidatedMounts{};
}

TEST(MountPoints, RootAndNestedMountPointsOfARun) {
  sb::test::TempDir dir;
  auto mounts = run_mounts(dir);
  EXPECT_EQ(root_mount_points(mounts),
            (std::vector<std::string>{"/proc", "/dev", "/sys", "/tmp", "/workspace", "/session"}));
  auto nested = nested_mount_points(mounts);
  ASSERT_EQ(nested.size(), 1u);
  EXPECT_EQ(mounts.mounts()[nested[0].parent].container_path, "/workspace");
  EXPECT_EQ(nested[0].relative, "ipc");
}

TEST(MountPoints, AreMadeInsideTheRootfs) {
  sb::test::TempDir dir;
  fs::create_directories(dir.file("rootfs/workspace"));
  ASSERT_TRUE(ensure_mount_points(dir.file("rootfs"), {"/workspace", "/session", "/a/b/c"}));
  EXPECT_TRUE(fs::is_directory(dir.file("rootfs/session")));
  EXPECT_TRUE(fs::is_directory(dir.file("rootfs/a/b/c")));
}

TEST(MountPoints, NeverFollowASymlinkOfTheImage) {
  // An image whose /session points out of it must not make the broker create host dirs.
  sb::test::TempDir dir;
  fs::create_directories(dir.file("rootfs"));
  fs::create_directories(dir.file("outside"));
  fs::create_directory_symlink(dir.file("outside"), dir.file("rootfs/session"));
  auto r = ensure_mount_points(dir.file("rootfs"), {"/session/x"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "container.mount_failed");
  EXPECT_FALSE(fs::exists(dir.file("outside/x")));
}

}  // namespace
}  // namespace sb::container::oci
