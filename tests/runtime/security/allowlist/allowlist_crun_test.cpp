// The check-then-use race against real crun: a directory is checked and pinned, then
// swapped for a symlink to a forbidden directory before the container is created. The
// container must see the checked directory, never the symlink's target.
#include <sys/mount.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/container/mount_policy.hpp"
#include "runtime/security/allowlist/allowlist_store.hpp"
#include "tests/runtime/container/oci/oci_test_support.hpp"

namespace sb::container::oci::test {
namespace {

class AllowlistOciTest : public OciFixture {
 protected:
  void SetUp() override {
    OciFixture::SetUp();
    base = fs::canonical(tree.path()).string();
    for (const char* d : {"ws", "root/checked", "forbidden"}) fs::create_directories(base + "/" + d);
    fs::permissions(base + "/ws", fs::perms(0777));
    std::ofstream(base + "/root/checked/f") << "CHECKED";
    std::ofstream(base + "/forbidden/f") << "FORBIDDEN";
    std::ofstream(base + "/allowlist.json") << R"({"allowedRoots":[{"path":")" << base << R"(/root"}]})";
    rules = std::make_shared<security::allowlist::AllowlistRules>(
        security::allowlist::load_allowlist(base + "/allowlist.json", {}));
    ASSERT_TRUE(rules->unavailable.empty()) << rules->unavailable;
  }

  Result<ValidatedMounts> checked_mounts() {
    RunMountRequest req;
    req.workspace = base + "/ws";
    req.workspace_read_write = true;
    req.extras = {{"data", base + "/root/checked", false}};
    return MountPolicy::validate(req, MountContext{rules, "team", false, {}, nullptr});
  }

  void swap_for_symlink() {
    fs::rename(base + "/root/checked", base + "/root/checked.old");
    fs::create_directory_symlink(base + "/forbidden", base + "/root/checked");
  }

  std::string seen() {
    std::ifstream in(base + "/ws/seen");
    std::string s;
    std::getline(in, s);
    return s;
  }

  TempDir tree;
  std::string base;
  std::shared_ptr<const security::allowlist::AllowlistRules> rules;
};

TEST_F(AllowlistOciTest, ContainerSeesTheCheckedDirectoryAfterASwap) {
  auto mounts = checked_mounts();
  ASSERT_TRUE(mounts.ok()) << mounts.error().message;
  swap_for_symlink();
  // The path now leads somewhere else: a path-based runtime would mount FORBIDDEN.
  {
    std::ifstream through_path(base + "/root/checked/f");
    std::string now;
    through_path >> now;
    ASSERT_EQ(now, "FORBIDDEN");
  }
  auto s = sh("cat /workspace/extra/data/f > /workspace/seen");
  s.mounts = *mounts;
  s.workdir = "/workspace";
  EXPECT_EQ(run(s).exit_code, 0);
  EXPECT_EQ(seen(), "CHECKED") << "the container must see the directory that was checked";
}

TEST_F(AllowlistOciTest, CrunGetsAStageThatIsGoneOnceCreated) {
  auto mounts = checked_mounts();
  ASSERT_TRUE(mounts.ok()) << mounts.error().message;
  auto s = sh("true");
  s.mounts = *mounts;
  auto id = runtime_->create(s);
  ASSERT_TRUE(id.ok()) << id.error().message;
  std::ifstream in(state_.path() / "install-a" / "state" / *id / "config.json");
  std::stringstream config;
  config << in.rdbuf();
  const std::string stage =
      (state_.path() / "install-a" / "state" / ".stage").string() + "/" + std::to_string(::getpid()) + "-" + *id + "/";
  EXPECT_NE(config.str().find("\"source\":\"" + stage + "1\""), std::string::npos)
      << "the extra mount is bound from its stage: " << config.str();
  EXPECT_EQ(config.str().find("\"source\":\"" + base + "/root/checked\""), std::string::npos)
      << "the path itself is never handed to crun";
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::stringstream table;
  table << mountinfo.rdbuf();
  // This run's own stage only: tests running in parallel have stages of their own.
  EXPECT_EQ(table.str().find(stage), std::string::npos) << "stages are detached once crun has created";
  EXPECT_FALSE(fs::exists(stage)) << "and their directories removed";
  EXPECT_TRUE(runtime_->remove(*id, true).ok());
}

TEST_F(AllowlistOciTest, StaleStagesOfDeadProcessesAreCleared) {
  // A stage left by a broker that crashed: a child that has exited and been reaped.
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);
  const fs::path root = state_.path() / "install-b" / "state" / ".stage";
  const fs::path stale = root / (std::to_string(dead) + "-sb-dead") / "0";
  fs::create_directories(stale);
  ASSERT_EQ(::mount(base.c_str(), stale.c_str(), nullptr, MS_BIND, nullptr), 0) << std::strerror(errno);
  const fs::path mine = root / (std::to_string(::getpid()) + "-sb-live") / "0";
  fs::create_directories(mine);
  auto rt = make_runtime("install-b");
  EXPECT_FALSE(fs::exists(stale.parent_path())) << "detached and removed";
  EXPECT_TRUE(fs::exists(base + "/root/checked/f")) << "never deleted through";
  EXPECT_TRUE(fs::exists(mine)) << "a live process's stage stays";
}

TEST_F(AllowlistOciTest, SwapBeforeTheCheckIsCaughtByTheCheck) {
  swap_for_symlink();  // now root/checked -> forbidden (outside the root)
  auto mounts = checked_mounts();
  ASSERT_FALSE(mounts.ok());
  EXPECT_NE(mounts.error().message.find("no_allowed_root"), std::string::npos) << mounts.error().message;
}

}  // namespace
}  // namespace sb::container::oci::test
