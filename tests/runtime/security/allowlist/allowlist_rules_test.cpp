// The mount allowlist's pure rules: parsing, pattern matching, roots, protected paths,
// read-write, and the mount-table checks on synthetic tables.
#include "runtime/security/allowlist/allowlist_rules.hpp"

#include <gtest/gtest.h>

#include "runtime/security/allowlist/mount_table.hpp"

namespace sb::security::allowlist {
namespace {

TEST(AllowlistParse, ReadsTheFileAndMergesTheDefaultPatterns) {
  auto f = parse_allowlist(R"({"allowedRoots":[{"path":"~/projects","allowReadWrite":true,"description":"code"},
                                              {"path":"/srv/data"}],
                             "blockedPatterns":["password","Secret",".ssh"],"nonMainReadOnly":false})");
  ASSERT_TRUE(f.ok()) << f.error().message;
  ASSERT_EQ(f->roots.size(), 2u);
  EXPECT_EQ(f->roots[0].path, "~/projects");
  EXPECT_TRUE(f->roots[0].allow_read_write);
  EXPECT_EQ(f->roots[0].description, "code");
  EXPECT_FALSE(f->roots[1].allow_read_write) << "read-only unless the file says otherwise";
  EXPECT_FALSE(f->non_main_read_only);
  for (const auto& p : default_blocked_patterns())
    EXPECT_NE(std::find(f->blocked_patterns.begin(), f->blocked_patterns.end(), p), f->blocked_patterns.end()) << p;
  EXPECT_NE(std::find(f->blocked_patterns.begin(), f->blocked_patterns.end(), "secret"), f->blocked_patterns.end())
      << "patterns are kept lower-case";
  EXPECT_EQ(std::count(f->blocked_patterns.begin(), f->blocked_patterns.end(), ".ssh"), 1) << "deduplicated";
  EXPECT_EQ(f->blocked_patterns.size(), default_blocked_patterns().size() + 2);
}

TEST(AllowlistParse, DefaultsAreTheSafeSide) {
  auto f = parse_allowlist(R"({"allowedRoots":[]})");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->roots.empty());
  EXPECT_TRUE(f->non_main_read_only);
  EXPECT_EQ(f->blocked_patterns, default_blocked_patterns());
}

TEST(AllowlistParse, RejectsBadFiles) {
  for (const char* bad :
       {"", "not json", "[]", R"({"allowedRoots":{}})", R"({})", R"({"blockedPatterns":[]})",
        R"({"allowedRoots":[{"path":"relative/dir"}]})", R"({"allowedRoots":[{"path":""}]})",
        R"({"allowedRoots":[{}]})", R"({"allowedRoots":["/x"]})",
        R"({"allowedRoots":[{"path":"/x","allowReadWrite":"yes"}]})",
        R"({"allowedRoots":[{"path":"/x","allowReadwrite":true}]})", R"({"allowedRoots":[],"blockedPatterns":[""]})",
        R"({"allowedRoots":[],"blockedPatterns":["a/b"]})", R"({"allowedRoots":[],"blockedPatterns":[1]})",
        R"({"allowedRoots":[],"nonMainReadOnly":"false"})", R"({"allowedRoots":[],"nonMainReadonly":false})",
        R"({"allowedRoots":[{"path":"/x\ny"}]})", R"({"allowedRoots":[{"path":5}]})"}) {
    auto f = parse_allowlist(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.error().code, "allowlist.invalid") << bad;
  }
}

TEST(BlockedPatterns, MatchSubstringsOfEachComponentIgnoringCase) {
  const auto& d = default_blocked_patterns();
  for (const char* blocked : {"/home/u/.ssh", "/home/u/.SSH/keys", "/a/b/c/.ssh-old/x", "/srv/.Env", "/srv/prod.env.d",
                              "/x/aws-credentials", "/x/.docker", "/x/id_rsa.d", "/x/.gnupg", "/x/my_private_key_dir",
                              "/x/.secrets", "/x/.kube/cache", "/x/.npmrc.d"})
    EXPECT_TRUE(check_blocked_components(d, blocked).has_value()) << blocked;
  for (const char* fine : {"/home/u/projects", "/srv/ssh-notes", "/x/venv", "/x/.venv", "/x/environment", "/x/gpg"})
    EXPECT_FALSE(check_blocked_components(d, fine).has_value()) << fine;
  auto v = check_blocked_components({"token"}, "/srv/API-Tokens/x");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, rule::kBlockedPattern);
  EXPECT_NE(v->reason.find("API-Tokens"), std::string::npos) << v->reason;
}

TEST(PathWithin, ComparesWholeComponents) {
  EXPECT_TRUE(path_within("/a/b", "/a/b"));
  EXPECT_TRUE(path_within("/a/b/c", "/a/b"));
  EXPECT_TRUE(path_within("/a/b/c", "/a/b/"));
  EXPECT_FALSE(path_within("/a/bc", "/a/b"));
  EXPECT_FALSE(path_within("/a", "/a/b"));
  EXPECT_TRUE(path_within("/anything", "/"));
  EXPECT_TRUE(path_within("/", "/"));
}

TEST(ContainerNames, OnlyOneSafeRelativeComponent) {
  for (const char* ok : {"data", "a", "A-b_c.d", "x123", "repo.git"}) EXPECT_FALSE(check_container_name(ok)) << ok;
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "../x", "a/b", "a:b", "-v", "--privileged", ".hidden", "a b", "a\nb",
                                std::string("a\0b", 3), std::string(65, 'a'), "/abs", "ä"}) {
    auto v = check_container_name(bad);
    ASSERT_TRUE(v.has_value()) << bad;
    EXPECT_EQ(v->rule, rule::kInvalidContainerPath);
    EXPECT_EQ(v->reason.find('\n'), std::string::npos) << "control characters are not echoed";
  }
}

TEST(HostPathText, RefusesWhatRuntimesWouldMisread) {
  EXPECT_FALSE(check_host_path_text("/srv/data"));
  for (const std::string& bad : std::vector<std::string>{"", "relative", "./x", "~user/x", "/a:b", "/a,b", "/a\nb",
                                                         std::string("/a\0b", 4), "/" + std::string(5000, 'a')})
    EXPECT_EQ(check_host_path_text(bad).value_or(Verdict{true, false, "", ""}).rule, rule::kInvalidHostPath) << bad;
}

AllowlistRules sample_rules() {
  AllowlistRules r;
  r.roots = {{"/home/u/projects", false, "code"}, {"/home/u/projects/scratch", true, ""}, {"/srv", true, ""}};
  r.blocked_patterns = default_blocked_patterns();
  r.non_main_read_only = true;
  r.protected_paths = {{"/home/u/.config/squadbox/mount-allowlist.json", "allowlist_file"},
                       {"/srv/squadbox/data", "data_dir"}};
  r.source_file = "/home/u/.config/squadbox/mount-allowlist.json";
  return r;
}

TEST(DecideExtraMount, DeepestRootAndTheReadWriteRule) {
  auto r = sample_rules();
  auto v = decide_extra_mount(r, "/home/u/projects/app", false, false);
  EXPECT_TRUE(v.allowed);
  EXPECT_FALSE(v.read_write);
  EXPECT_EQ(v.rule, rule::kAllowedRoot);
  EXPECT_NE(v.reason.find("/home/u/projects"), std::string::npos);

  // rw needs: asked AND root allows AND (main OR !nonMainReadOnly).
  EXPECT_FALSE(decide_extra_mount(r, "/home/u/projects/app", true, true).read_write) << "root is read-only";
  EXPECT_TRUE(decide_extra_mount(r, "/home/u/projects/scratch/x", true, true).read_write) << "deepest root wins";
  EXPECT_FALSE(decide_extra_mount(r, "/home/u/projects/scratch/x", true, false).read_write) << "nonMainReadOnly";
  EXPECT_FALSE(decide_extra_mount(r, "/home/u/projects/scratch/x", false, true).read_write) << "not asked";
  auto downgraded = decide_extra_mount(r, "/home/u/projects/scratch/x", true, false);
  EXPECT_TRUE(downgraded.allowed) << "a refused rw is a read-only mount, not a denial";
  EXPECT_NE(downgraded.reason.find("nonMainReadOnly"), std::string::npos);
  r.non_main_read_only = false;
  EXPECT_TRUE(decide_extra_mount(r, "/home/u/projects/scratch/x", true, false).read_write);
}

TEST(DecideExtraMount, DeniesOutsideRootsBlockedProtectedAndUnavailable) {
  auto r = sample_rules();
  EXPECT_EQ(decide_extra_mount(r, "/etc", false, true).rule, rule::kNoAllowedRoot);
  EXPECT_EQ(decide_extra_mount(r, "/home/u/projectsX", false, true).rule, rule::kNoAllowedRoot);
  EXPECT_EQ(decide_extra_mount(r, "/home/u/projects/.aws", false, true).rule, rule::kBlockedPattern);
  EXPECT_EQ(decide_extra_mount(r, "/srv/squadbox", false, true).rule, rule::kProtectedPath) << "ancestor of data dir";
  EXPECT_EQ(decide_extra_mount(r, "/srv/squadbox/data", false, true).rule, rule::kProtectedPath);
  EXPECT_EQ(decide_extra_mount(r, "/srv/squadbox/data/sessions/g", false, true).rule, rule::kProtectedPath);
  EXPECT_EQ(decide_extra_mount(r, "/srv", false, true).rule, rule::kProtectedPath) << "a root exposing the data dir";
  EXPECT_TRUE(decide_extra_mount(r, "/srv/other", false, true).allowed);
  r.unavailable = "the allowlist file /x does not exist";
  auto v = decide_extra_mount(r, "/home/u/projects/app", false, true);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.rule, rule::kAllowlistUnavailable);
  EXPECT_NE(v.reason.find("does not exist"), std::string::npos);
}

TEST(DecideOperatorWorkspace, NeedsNoRootButKeepsPatternsAndProtectedPaths) {
  auto r = sample_rules();
  r.unavailable = "missing";  // the workspace does not depend on the file
  EXPECT_TRUE(decide_operator_workspace(r, "/tmp/ws", true).allowed);
  EXPECT_TRUE(decide_operator_workspace(r, "/tmp/ws", true).read_write);
  EXPECT_EQ(decide_operator_workspace(r, "/home/u/.ssh", true).rule, rule::kBlockedPattern);
  EXPECT_EQ(decide_operator_workspace(r, "/home/u", true).rule, rule::kProtectedPath) << "contains the allowlist";
  EXPECT_EQ(decide_operator_workspace(r, "/srv/squadbox/data/runs", true).rule, rule::kProtectedPath);
}

TEST(MountInfo, ParsesAndUnescapes) {
  auto m = parse_mountinfo(
      "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
      "27 1 253:0 / / rw - ext4 /dev/vda rw\n"
      "90 27 253:0 /srv/a /srv/with\\040space rw shared:1 - ext4 /dev/vda rw\n"
      "garbage line\n");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].mount_point, "/proc");
  EXPECT_EQ(m[2].root, "/srv/a");
  EXPECT_EQ(m[2].mount_point, "/srv/with space");
  EXPECT_EQ(m[2].device, "253:0");
}

TEST(MountExposure, SubmountsAndBindMountsBelowTheRoot) {
  std::vector<MountEntry> table = {{"253:0", "/", "/"},
                                   {"0:40", "/", "/home"},         // the host's own layout, above the root
                                   {"8:17", "/", "/home/u/disk"},  // a whole other file system
                                   {"0:40", "/u/app", "/home/u/projects/app/loop"},  // app bound under itself
                                   {"253:0", "/", "/home/u/projects/rootfs"}};       // / bound again
  EXPECT_FALSE(check_mount_exposure(table, "/home/u/projects/other", "/home/u/projects"));
  EXPECT_EQ(check_mount_exposure(table, "/home/u/projects/app", "/home/u/projects")->rule, rule::kSubmount);
  EXPECT_EQ(check_mount_exposure(table, "/home/u/projects", "/home/u/projects")->rule, rule::kSubmount);
  EXPECT_EQ(check_mount_exposure(table, "/home/u/projects/app/loop", "/home/u/projects")->rule, rule::kBindMount);
  EXPECT_EQ(check_mount_exposure(table, "/home/u/projects/rootfs/etc", "/home/u/projects")->rule, rule::kBindMount)
      << "a second view of / under the root";
  EXPECT_FALSE(check_mount_exposure(table, "/home/u/disk/x", "/home/u")) << "a separate file system is fine";
  EXPECT_FALSE(check_mount_exposure(table, "/home/u/notes", "/home/u")) << "mounts above the root are not judged";
}

}  // namespace
}  // namespace sb::security::allowlist
