// AllowlistStore: loading, deny-all on a missing or invalid file, reloading on every
// way an editor or an operator changes the file, and the audit of each load.
#include "runtime/security/allowlist/allowlist_store.hpp"

#include <stdio.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include <gtest/gtest.h>

#include "runtime/security/allowlist/mount_check.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::security::allowlist {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Generous: inotify delivery is fast, but CI machines under sanitizers are slow.
constexpr auto kDeadline = 20s;

struct AuditLog {
  std::mutex mu;
  std::vector<AuditRecord> records;
  AuditSink sink() {
    return [this](AuditRecord r) {
      std::lock_guard lock(mu);
      records.push_back(std::move(r));
    };
  }
  std::vector<AuditRecord> snapshot() {
    std::lock_guard lock(mu);
    return records;
  }
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base = fs::canonical(dir.path()).string();
    fs::create_directories(base + "/cfg");
    fs::create_directories(base + "/a");
    fs::create_directories(base + "/b");
    file = base + "/cfg/mount-allowlist.json";
  }
  std::string roots_json(const std::string& root) { return R"({"allowedRoots":[{"path":")" + root + R"("}]})"; }
  static void write(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  bool allows(AllowlistStore& s, const std::string& path) {
    return check_mount(*s.current(), MountQuery{MountKind::extra, path, "x", false, "g", false}).allowed;
  }
  bool wait_for(AllowlistStore& s, uint64_t generation) {
    return test::wait_until([&] { return s.generation() >= generation; }, kDeadline);
  }

  test::TempDir dir{"sb-allowlist-store"};
  std::string base, file;
  AuditLog audit;
};

TEST_F(StoreTest, LoadsTheFileAndAuditsTheLoad) {
  write(file, roots_json(base + "/a"));
  AllowlistStore store({file, {}, audit.sink(), false});
  EXPECT_EQ(store.generation(), 1u);
  EXPECT_TRUE(allows(store, base + "/a"));
  EXPECT_FALSE(allows(store, base + "/b"));
  auto rec = audit.snapshot();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].actor, "allowlist");
  EXPECT_EQ(rec[0].event, "allowlist.reloaded");
  EXPECT_EQ(rec[0].subject, file);
  EXPECT_NE(rec[0].detail.find("\"roots\":1"), std::string::npos) << rec[0].detail;
}

TEST_F(StoreTest, MissingFileDeniesEveryExtraMount) {
  AllowlistStore store({file, {}, audit.sink(), false});
  auto rules = store.current();
  EXPECT_NE(rules->unavailable.find("does not exist"), std::string::npos) << rules->unavailable;
  auto d = check_mount(*rules, MountQuery{MountKind::extra, base + "/a", "x", false, "g", false});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, rule::kAllowlistUnavailable);
  auto rec = audit.snapshot();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].event, "allowlist.invalid");
  EXPECT_NE(rec[0].detail.find("\"error\""), std::string::npos);
  EXPECT_EQ(rules->blocked_patterns, default_blocked_patterns()) << "defaults still apply (cowork's workspace)";
}

TEST_F(StoreTest, InvalidFileDeniesEveryExtraMount) {
  write(file, R"({"allowedRoots":[{"path":")" + base + R"(/a"}], "typo":1})");
  AllowlistStore store({file, {}, audit.sink(), false});
  EXPECT_FALSE(allows(store, base + "/a"));
  EXPECT_NE(store.current()->unavailable.find("typo"), std::string::npos);
  EXPECT_EQ(audit.snapshot().at(0).event, "allowlist.invalid");
}

TEST_F(StoreTest, DropsMissingAndSymlinkedRoots) {
  fs::create_directories(base + "/c");
  fs::create_directory_symlink(base + "/c", base + "/blink");
  write(file, R"({"allowedRoots":[{"path":")" + base + R"(/a"},{"path":")" + base + R"(/nope"},{"path":")" + base +
                  R"(/blink"},{"path":")" + base + R"(/a/../b"}]})");
  AllowlistStore store({file, {}, {}, false});
  auto rules = store.current();
  ASSERT_EQ(rules->roots.size(), 2u) << "/a and /a/../b (lexically /b) stay";
  EXPECT_EQ(rules->warnings.size(), 2u);
  EXPECT_FALSE(allows(store, base + "/blink")) << "reached only through a root that was dropped";
  EXPECT_FALSE(allows(store, base + "/c")) << "the dropped root's target is no root either";
  EXPECT_TRUE(allows(store, base + "/b"));
}

TEST_F(StoreTest, ReloadsWhenTheFileIsRewrittenInPlace) {
  write(file, roots_json(base + "/a"));
  AllowlistStore store({file, {}, audit.sink(), true});
  ASSERT_TRUE(allows(store, base + "/a"));
  write(file, roots_json(base + "/b"));
  ASSERT_TRUE(wait_for(store, 2)) << "no reload after an in-place write";
  ASSERT_TRUE(test::wait_until([&] { return allows(store, base + "/b"); }, kDeadline));
  EXPECT_FALSE(allows(store, base + "/a"));
  EXPECT_EQ(audit.snapshot().back().event, "allowlist.reloaded");
}

TEST_F(StoreTest, ReloadsWhenAnEditorRenamesOverIt) {
  write(file, roots_json(base + "/a"));
  AllowlistStore store({file, {}, audit.sink(), true});
  write(file + ".swp", roots_json(base + "/b"));
  ASSERT_EQ(::rename((file + ".swp").c_str(), file.c_str()), 0);
  ASSERT_TRUE(test::wait_until([&] { return allows(store, base + "/b"); }, kDeadline));
  EXPECT_FALSE(allows(store, base + "/a"));
}

TEST_F(StoreTest, DeleteDeniesAndRecreateRestores) {
  write(file, roots_json(base + "/a"));
  AllowlistStore store({file, {}, audit.sink(), true});
  ASSERT_TRUE(allows(store, base + "/a"));
  fs::remove(file);
  ASSERT_TRUE(test::wait_until([&] { return !store.current()->unavailable.empty(); }, kDeadline));
  EXPECT_FALSE(allows(store, base + "/a")) << "no stale rules after the file is gone";
  bool audited_invalid = false;
  for (const auto& r : audit.snapshot()) audited_invalid |= r.event == "allowlist.invalid";
  EXPECT_TRUE(audited_invalid);
  write(file, roots_json(base + "/a"));
  ASSERT_TRUE(test::wait_until([&] { return allows(store, base + "/a"); }, kDeadline));
}

TEST_F(StoreTest, BrokenEditIsDeniedThenFixed) {
  write(file, roots_json(base + "/a"));
  AllowlistStore store({file, {}, audit.sink(), true});
  write(file, "{\"allowedRoots\": [");
  ASSERT_TRUE(test::wait_until([&] { return !store.current()->unavailable.empty(); }, kDeadline));
  EXPECT_FALSE(allows(store, base + "/a"));
  write(file, roots_json(base + "/a"));
  ASSERT_TRUE(test::wait_until([&] { return allows(store, base + "/a"); }, kDeadline));
}

TEST_F(StoreTest, WatchesADirectoryCreatedLater) {
  const std::string later = base + "/later/squadbox";
  const std::string later_file = later + "/mount-allowlist.json";
  AllowlistStore store({later_file, {}, audit.sink(), true});
  EXPECT_FALSE(store.current()->unavailable.empty());
  fs::create_directories(later);
  write(later_file, roots_json(base + "/a"));
  ASSERT_TRUE(test::wait_until([&] { return allows(store, base + "/a"); }, kDeadline));
}

TEST_F(StoreTest, ProtectedPathsComeWithEveryLoad) {
  write(file, roots_json(base));
  AllowlistStore store({file, {{base + "/cfg", "allowlist_dir"}}, {}, false});
  auto d = check_mount(*store.current(), MountQuery{MountKind::extra, base + "/cfg", "x", false, "g", false});
  EXPECT_EQ(d.rule, rule::kProtectedPath);
  d = check_mount(*store.current(), MountQuery{MountKind::extra, base, "x", false, "g", false});
  EXPECT_EQ(d.rule, rule::kProtectedPath) << "the root itself contains the allowlist";
  EXPECT_TRUE(allows(store, base + "/a"));
}

}  // namespace
}  // namespace sb::security::allowlist
