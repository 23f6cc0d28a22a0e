// MountPolicy on top of the allowlist: which mounts are checked, how denials surface,
// the audit and metrics of each decision, the pinned directory and the re-verify step
// the docker/apple backends run right before create.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/container/mount_policy.hpp"
#include "runtime/security/allowlist/allowlist_store.hpp"
#include "runtime/security/allowlist/pinned_path.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::container {
namespace {

namespace fs = std::filesystem;

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base = fs::canonical(dir.path()).string();
    for (const char* d : {"root/app", "root/rw", "root/.aws", "outside", "data/sessions/g", "data/runs/r/ipc", "cfg"})
      fs::create_directories(base + "/" + d);
    std::ofstream(base + "/cfg/allowlist.json")
        << R"({"allowedRoots":[{"path":")" << base << R"(/root","allowReadWrite":true}],"nonMainReadOnly":true})";
    rules = std::make_shared<security::allowlist::AllowlistRules>(security::allowlist::load_allowlist(
        base + "/cfg/allowlist.json",
        {{base + "/data", "data_dir"}, {base + "/cfg/allowlist.json", "allowlist_file"}}));
    ASSERT_TRUE(rules->unavailable.empty()) << rules->unavailable;
  }
  MountContext context(bool main = false) {
    return MountContext{rules, "team", main, [this](AuditRecord r) { audit.push_back(std::move(r)); }, &metrics};
  }

  test::TempDir dir{"sb-allowlist-policy"};
  std::string base;
  std::shared_ptr<const security::allowlist::AllowlistRules> rules;
  std::vector<AuditRecord> audit;
  metrics::Registry metrics;
};

TEST_F(PolicyTest, ExtraMountAllowedPinnedAuditedAndCounted) {
  RunMountRequest req;
  req.extras = {{"app", base + "/root/app", false}, {"rw", base + "/root/rw/", true}};
  auto m = MountPolicy::validate(req, context(true));
  ASSERT_TRUE(m.ok()) << m.error().message;
  const auto& v = m->mounts();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].host_path, base + "/root/app");
  EXPECT_EQ(v[0].container_path, "/workspace/extra/app");
  EXPECT_FALSE(v[0].read_write);
  EXPECT_EQ(v[1].host_path, base + "/root/rw") << "canonical: no trailing slash";
  EXPECT_TRUE(v[1].read_write) << "asked, root allows, main group";
  ASSERT_NE(v[0].pinned, nullptr);
  EXPECT_EQ(v[0].pinned->path(), v[0].host_path);
  EXPECT_EQ(fs::read_symlink(v[0].pinned->proc_path()).string(), v[0].host_path)
      << "the /proc path a runtime mounts leads to the checked directory";
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].event, "mount.allowed");
  EXPECT_EQ(audit[0].subject, base + "/root/app");
  EXPECT_NE(audit[0].detail.find("\"rule\":\"allowed_root\""), std::string::npos) << audit[0].detail;
  EXPECT_NE(audit[0].detail.find("\"group\":\"team\""), std::string::npos);
  EXPECT_NE(audit[1].detail.find("\"rw\":true"), std::string::npos) << audit[1].detail;
  EXPECT_NE(metrics.render().find("squadbox_mount_decisions_total{decision=\"allowed\",rule=\"allowed_root\"} 2"),
            std::string::npos)
      << metrics.render();
}

TEST_F(PolicyTest, NonMainGroupGetsReadOnly) {
  RunMountRequest req;
  req.extras = {{"rw", base + "/root/rw", true}};
  auto m = MountPolicy::validate(req, context(false));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_FALSE(m->mounts()[0].read_write);
  EXPECT_NE(audit.at(0).detail.find("\"rw\":false"), std::string::npos);
  EXPECT_NE(audit.at(0).detail.find("\"rw_requested\":true"), std::string::npos);
}

TEST_F(PolicyTest, DenialsNameTheRuleAndStopTheRun) {
  RunMountRequest req;
  req.extras = {{"ok", base + "/root/app", false}, {"keys", base + "/root/.aws", false}};
  auto m = MountPolicy::validate(req, context());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, "mount.denied");
  EXPECT_NE(m.error().message.find("blocked_pattern"), std::string::npos) << m.error().message;
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[1].event, "mount.denied");
  EXPECT_NE(metrics.render().find("squadbox_mount_decisions_total{decision=\"denied\",rule=\"blocked_pattern\"} 1"),
            std::string::npos);

  req.extras = {{"../x", base + "/root/app", false}};
  EXPECT_EQ(MountPolicy::validate(req, context()).error().code, "mount.invalid_name");
  req.extras = {{"x", base + "/root/none", false}};
  EXPECT_EQ(MountPolicy::validate(req, context()).error().code, "mount.not_found");
  req.extras = {{"x", base + "/outside", false}};
  EXPECT_EQ(MountPolicy::validate(req, context()).error().code, "mount.denied");
  req.extras = {{"a", base + "/root/app", false}, {"a", base + "/root/rw", false}};
  EXPECT_EQ(MountPolicy::validate(req, context()).error().code, "mount.duplicate");
}

TEST_F(PolicyTest, WithoutAnAllowlistEveryExtraIsDenied) {
  RunMountRequest req;
  req.extras = {{"app", base + "/root/app", false}};
  auto m = MountPolicy::validate(req);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("allowlist_unavailable"), std::string::npos) << m.error().message;
}

TEST_F(PolicyTest, BrokerDirectoriesAreNotAllowlisted) {
  // The group's workspace, IPC and session dirs live in the data dir: squadbox's own
  // choice, canonicalised and pinned but not judged by the operator's allowlist.
  RunMountRequest req;
  req.workspace = base + "/data/sessions/g";
  req.ipc_dir = base + "/data/runs/r/ipc";
  req.session_dir = base + "/data/sessions/g";
  auto m = MountPolicy::validate(req, context());
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->mounts().size(), 3u);
  EXPECT_EQ(m->mounts()[1].container_path, "/workspace/ipc");
  EXPECT_EQ(m->mounts()[2].container_path, "/session");
  EXPECT_TRUE(m->mounts()[2].read_write);
  for (const auto& mount : m->mounts()) EXPECT_NE(mount.pinned, nullptr);
  EXPECT_TRUE(audit.empty());
  req.session_dir = base + "/data/nope";
  EXPECT_EQ(MountPolicy::validate(req, context()).error().code, "mount.not_found");
}

TEST_F(PolicyTest, OperatorWorkspaceIsCheckedButNeedsNoRoot) {
  RunMountRequest req;
  req.workspace = base + "/outside";
  req.workspace_read_write = true;
  req.workspace_from_operator = true;
  auto m = MountPolicy::validate(req, context());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE(m->mounts()[0].read_write);
  EXPECT_EQ(audit.at(0).event, "mount.allowed");
  EXPECT_NE(audit.at(0).detail.find("operator_choice"), std::string::npos);
  req.workspace = base;  // contains the data dir and the allowlist
  EXPECT_EQ(MountPolicy::validate(req, context()).error().code, "mount.denied");
  req.workspace = base + "/root/.aws";
  EXPECT_EQ(MountPolicy::validate(req).error().code, "mount.denied") << "default patterns apply without a file";
}

TEST_F(PolicyTest, ReverifyCatchesASwapAfterTheCheck) {
  RunMountRequest req;
  req.extras = {{"app", base + "/root/app", false}};
  auto m = MountPolicy::validate(req, context());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE(MountPolicy::reverify(*m).ok());
  // The checked directory is moved away and a symlink to a forbidden one takes its name.
  fs::rename(base + "/root/app", base + "/root/app.old");
  fs::create_directory_symlink(base + "/outside", base + "/root/app");
  auto st = MountPolicy::reverify(*m);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "mount.changed");
  // Same name, another directory (no symlink): still not the pinned inode.
  fs::remove(base + "/root/app");
  fs::create_directory(base + "/root/app");
  EXPECT_EQ(MountPolicy::reverify(*m).error().code, "mount.changed");
  // The pinned fd itself still leads to the checked directory, now at its new name.
  EXPECT_EQ(fs::read_symlink(m->mounts()[0].pinned->proc_path()).string(), base + "/root/app.old");
}

TEST(PinnedPath, RefusesAComponentThatIsNowASymlink) {
  test::TempDir dir{"sb-pinned"};
  const std::string base = fs::canonical(dir.path()).string();
  fs::create_directories(base + "/real/inner");
  fs::create_directory_symlink(base + "/real", base + "/link");
  // As if realpath had said ".../link/inner" a moment before "link" became a symlink.
  auto p = security::allowlist::PinnedPath::open_directory(base + "/link/inner");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, security::allowlist::rule::kChangedDuringCheck);
  EXPECT_EQ(security::allowlist::PinnedPath::open_directory(base + "/real/../real").error().code,
            security::allowlist::rule::kUnresolvable);
  EXPECT_TRUE(security::allowlist::PinnedPath::open_directory(base + "/real/inner").ok());
  std::ofstream(base + "/real/file") << "x";
  EXPECT_FALSE(security::allowlist::PinnedPath::open_directory(base + "/real/file").ok());
}

TEST(PinnedPath, ClosesItsFdWhenTheLastHolderGoes) {
  test::TempDir dir{"sb-pinned"};
  int fd = -1;
  {
    auto p = security::allowlist::PinnedPath::open_directory(fs::canonical(dir.path()).string());
    ASSERT_TRUE(p.ok());
    fd = (*p)->fd();
    EXPECT_TRUE(fs::exists("/proc/self/fd/" + std::to_string(fd)));
  }
  std::error_code ec;
  EXPECT_FALSE(fs::exists("/proc/self/fd/" + std::to_string(fd), ec)) << "fd " << fd << " leaked";
}

}  // namespace
}  // namespace sb::container
