// Docker and Apple resolve host paths themselves: right before create, a mount whose
// path no longer leads to the pinned directory must stop the create before anything is
// sent to the daemon / CLI.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/container/apple/apple_runtime.hpp"
#include "runtime/container/docker/docker_runtime.hpp"
#include "runtime/container/mount_policy.hpp"
#include "runtime/security/allowlist/allowlist_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::container {
namespace {

namespace fs = std::filesystem;

class BackendReverify : public ::testing::Test {
 protected:
  void SetUp() override {
    base = fs::canonical(dir.path()).string();
    for (const char* d : {"root/data", "forbidden"}) fs::create_directories(base + "/" + d);
    std::ofstream(base + "/allowlist.json") << R"({"allowedRoots":[{"path":")" << base << R"(/root"}]})";
    rules = std::make_shared<security::allowlist::AllowlistRules>(
        security::allowlist::load_allowlist(base + "/allowlist.json", {}));
    RunMountRequest req;
    req.extras = {{"data", base + "/root/data", false}};
    auto m = MountPolicy::validate(req, MountContext{rules, "g", false, {}, nullptr});
    ASSERT_TRUE(m.ok()) << m.error().message;
    spec.name = "t";
    spec.image = "img:1";
    spec.mounts = *m;
  }
  void swap() {
    fs::rename(base + "/root/data", base + "/root/data.old");
    fs::create_directory_symlink(base + "/forbidden", base + "/root/data");
  }

  test::TempDir dir{"sb-allowlist-backends"};
  std::string base;
  std::shared_ptr<const security::allowlist::AllowlistRules> rules;
  ContainerSpec spec;
};

TEST_F(BackendReverify, DockerRefusesASwappedMountBeforeCallingTheDaemon) {
  docker::DockerRuntime rt({base + "/no-docker.sock"});
  auto untouched = rt.create(spec);
  ASSERT_FALSE(untouched.ok());
  EXPECT_NE(untouched.error().code, "mount.changed") << "unchanged mounts pass: the error is the missing daemon";
  swap();
  auto r = rt.create(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "mount.changed") << r.error().message;
}

TEST_F(BackendReverify, AppleRefusesASwappedMountBeforeRunningTheCli) {
  apple::AppleRuntime rt({base + "/no-container-cli"});
  auto untouched = rt.create(spec);
  ASSERT_FALSE(untouched.ok());
  EXPECT_NE(untouched.error().code, "mount.changed");
  swap();
  auto r = rt.create(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "mount.changed") << r.error().message;
}

}  // namespace
}  // namespace sb::container
