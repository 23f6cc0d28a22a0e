#include "runtime/container/mount_policy.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/container/env_policy.hpp"
#include "runtime/security/allowlist/allowlist_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace sb::container;

TEST(EnvPolicy, OnlyApprovedNamesAndPassthroughEnter) {
  EnvPolicy policy;
  policy.passthrough = {"TZ_OVERRIDE_OK"};
  std::map<std::string, std::string> host = {
      {"AWS_SECRET_ACCESS_KEY", "leak"}, {"HOME", "/root"}, {"TZ_OVERRIDE_OK", "UTC"}, {"PATH", "/usr/bin"}};
  auto env = policy.build({{"SQUADBOX_AGENT_MODE", "echo"}, {"SOMETHING_ELSE", "x"}, {"LD_PRELOAD", "/x.so"}}, host);
  EXPECT_EQ(env, (std::map<std::string, std::string>{{"SQUADBOX_AGENT_MODE", "echo"}, {"TZ_OVERRIDE_OK", "UTC"}}));
}

TEST(EnvPolicy, HostValuesNeverFillApprovedNames) {
  EnvPolicy policy;
  auto env = policy.build({}, {{"HOME", "/root"}, {"ANTHROPIC_API_KEY", "sk-real"}});
  EXPECT_TRUE(env.empty());
}

TEST(MountPolicy, ExtraNamesFollowTheRules) {
  for (const char* ok : {"data", "a", "A-b_c.d", "x123"}) EXPECT_TRUE(MountPolicy::valid_extra_name(ok)) << ok;
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "../x", "a/b", "a:b", "-a", ".hidden", "a b", std::string(65, 'a')})
    EXPECT_FALSE(MountPolicy::valid_extra_name(bad)) << bad;
}

// An allowlist whose one root is `root` (read-write allowed, any group).
std::shared_ptr<const sb::security::allowlist::AllowlistRules> allow_root(const sb::test::TempDir& dir,
                                                                          const std::string& root) {
  std::ofstream(dir.file("allowlist.json"))
      << R"({"allowedRoots":[{"path":")" << root << R"(","allowReadWrite":true}],"nonMainReadOnly":false})";
  return std::make_shared<sb::security::allowlist::AllowlistRules>(
      sb::security::allowlist::load_allowlist(dir.file("allowlist.json"), {}));
}

TEST(MountPolicy, CanonicalisesHostPathsAndPlacesMounts) {
  sb::test::TempDir dir;
  std::filesystem::create_directories(dir.file("ws"));
  std::filesystem::create_directories(dir.file("ipc"));
  std::filesystem::create_directories(dir.file("data"));
  std::filesystem::create_directory_symlink(dir.file("data"), dir.file("link"));
  auto real = std::filesystem::canonical(dir.path()).string();
  MountContext ctx{allow_root(dir, real + "/data"), "g", false, {}, nullptr};
  auto m = MountPolicy::validate({dir.file("ws") + "/../ws",
                                  true,
                                  dir.file("ipc"),
                                  {{"ref", dir.file("link"), false}, {"out", dir.file("data"), true}}},
                                 ctx);
  ASSERT_TRUE(m.ok()) << m.error().message;
  const auto& v = m->mounts();
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].host_path, real + "/ws");
  EXPECT_EQ(v[0].container_path, "/workspace");
  EXPECT_TRUE(v[0].read_write);
  EXPECT_EQ(v[1].container_path, "/workspace/ipc");
  EXPECT_TRUE(v[1].read_write);
  EXPECT_EQ(v[2].host_path, real + "/data") << "symlinks are resolved before any check";
  EXPECT_EQ(v[2].container_path, "/workspace/extra/ref");
  EXPECT_FALSE(v[2].read_write) << "extra mounts are read-only unless asked";
  EXPECT_TRUE(v[3].read_write);
  for (const auto& mount : v) EXPECT_NE(mount.pinned, nullptr) << "every mount is pinned: " << mount.host_path;
}

TEST(MountPolicy, RejectsMissingPathsBadNamesAndDuplicates) {
  sb::test::TempDir dir;
  MountContext ctx{allow_root(dir, std::filesystem::canonical(dir.path()).string()), "g", false, {}, nullptr};
  EXPECT_EQ(MountPolicy::validate({dir.file("nope"), false, "", {}}).error().code, "mount.not_found");
  EXPECT_EQ(MountPolicy::validate({"", false, "", {{"../etc", dir.path(), false}}}, ctx).error().code,
            "mount.invalid_name");
  std::filesystem::create_directories(dir.file("sub"));
  EXPECT_EQ(MountPolicy::validate({"", false, "", {{"a", dir.file("sub"), false}, {"a", dir.file("sub"), false}}}, ctx)
                .error()
                .code,
            "mount.duplicate");
  EXPECT_EQ(MountPolicy::validate({"", false, "", {{"a", dir.file("sub"), false}}}).error().code, "mount.denied")
      << "no allowlist: every extra mount is denied";
  EXPECT_TRUE(MountPolicy::validate({}).ok());
}

}  // namespace
