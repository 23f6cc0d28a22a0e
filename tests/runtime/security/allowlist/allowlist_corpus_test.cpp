// The hostile corpus: every case is a mount request an attacker (or a careless
// config) could make, run through the full check (realpath, pin, rules, mount table)
// on a real directory tree. Each one must be denied, by the rule named in the table.
//
// The tree (built once per process, in a private mount namespace so the bind-mount
// loop never touches the host's table):
//   T/home/.config/squadbox/mount-allowlist.json   the allowlist ($HOME = T/home)
//   T/projects/            allowed root (rw)    T/forbidden/   outside every root
//   T/projects/broker/data the data dir         T/projects/keys/vault.key (not created)
//   T/projects/cfg/squadbox.toml  the config    T/rootlink -> T/real2  (a symlinked root)
//   T/projects/app2/loop   app2 bind-mounted under itself
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>

#include "runtime/security/allowlist/allowlist_store.hpp"
#include "runtime/security/allowlist/mount_check.hpp"
#include "runtime/security/allowlist/protected_paths.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::security::allowlist {
namespace {

namespace fs = std::filesystem;

struct Sandbox {
  std::unique_ptr<test::TempDir> dir;
  std::string t;  // canonical root of the tree
  std::string allowlist;
  std::string loop_source, loop_target;
  bool loop_mounted = false;
  AllowlistRules rules;

  std::string p(const std::string& rel) const { return t + "/" + rel; }
};

Sandbox* g_box = nullptr;

struct HostileCase {
  const char* label;
  std::function<MountQuery(const Sandbox&)> query;
  const char* expected_rule;
};

void touch(const std::string& path, const std::string& text = "x") {
  std::ofstream(path) << text;
}

// The tree is shared by every test of a process (gtest_discover_tests runs one per process).
class CorpusTree : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (g_box) return;
    ASSERT_EQ(::geteuid(), 0u) << "the corpus needs root for its private mount namespace (CI runs as root)";
    // Our own mount namespace, private: the bind mount below is invisible to the host
    // and disappears with this process.
    ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << std::strerror(errno);
    ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0) << std::strerror(errno);

    g_box = new Sandbox;
    auto& b = *g_box;
    b.dir = std::make_unique<test::TempDir>("sb-allowlist-corpus");
    b.t = fs::canonical(b.dir->path()).string();
    for (const char* d : {"home/.config/squadbox", "home/notes", "projects/app/src", "projects/.ssh",
                          "projects/deep/a/b/.SSH/keys", "projects/My.Env.d", "projects/aws-credentials-backup",
                          "projects/api-TOKENS", "projects/id_rsa.d", "projects/broker/data/sessions", "projects/keys",
                          "projects/cfg", "projects/app2/loop", "forbidden", "real2/x"})
      fs::create_directories(b.p(d));
    touch(b.p("projects/app/file.txt"));
    touch(b.p("projects/cfg/squadbox.toml"));
    touch(b.p("forbidden/secret.txt"));
    fs::create_directory_symlink(b.p("forbidden"), b.p("projects/link"));
    fs::create_directory_symlink(b.p("projects/.ssh"), b.p("projects/innocent"));
    fs::create_directory_symlink(b.p("projects/missing"), b.p("projects/dangling"));
    fs::create_directory_symlink(b.p("projects/loopB"), b.p("projects/loopA"));
    fs::create_directory_symlink(b.p("projects/loopA"), b.p("projects/loopB"));
    fs::create_directory_symlink(b.p("real2"), b.p("rootlink"));
    b.allowlist = b.p("home/.config/squadbox/mount-allowlist.json");
    touch(b.allowlist, R"({"allowedRoots":[)"
                       R"({"path":")" +
                           b.p("projects") +
                           R"(","allowReadWrite":true,"description":"projects"},)"
                           R"({"path":"~","allowReadWrite":false},)"
                           R"({"path":")" +
                           b.p("rootlink") +
                           R"("}],)"
                           R"("blockedPatterns":["token","password"],"nonMainReadOnly":true})");
    ::setenv("HOME", b.p("home").c_str(), 1);
    // A directory bind-mounted under itself.
    b.loop_source = b.p("projects/app2");
    b.loop_target = b.p("projects/app2/loop");
    ASSERT_EQ(::mount(b.loop_source.c_str(), b.loop_target.c_str(), nullptr, MS_BIND, nullptr), 0)
        << std::strerror(errno);
    b.loop_mounted = true;

    std::vector<ProtectedPath> prot;
    auto add = [&](const std::string& path, const char* what) {
      for (auto& f : protected_forms(path)) prot.push_back({f, what});
    };
    add(b.allowlist, "allowlist_file");
    add(b.p("projects/broker/data"), "data_dir");
    add(b.p("projects/keys/vault.key"), "vault_key_file");
    add(b.p("projects/cfg/squadbox.toml"), "config_file");
    b.rules = load_allowlist(b.allowlist, prot);
    ASSERT_TRUE(b.rules.unavailable.empty()) << b.rules.unavailable;
  }
  static void TearDownTestSuite() {
    if (!g_box) return;
    if (g_box->loop_mounted) ::umount2(g_box->loop_target.c_str(), MNT_DETACH);
    delete g_box;
    g_box = nullptr;
  }
};

class HostileCorpus : public CorpusTree, public ::testing::WithParamInterface<HostileCase> {};

MountQuery extra(std::string path, std::string name = "x", bool rw = false) {
  return MountQuery{MountKind::extra, std::move(path), std::move(name), rw, "team", false};
}

const std::vector<HostileCase>& corpus() {
  static const std::vector<HostileCase> cases = {
      // Symlinks and ".."
      {"SymlinkOutOfTheRoot", [](const Sandbox& b) { return extra(b.p("projects/link")); }, rule::kNoAllowedRoot},
      {"SymlinkWithTrailingSlash", [](const Sandbox& b) { return extra(b.p("projects/link/")); }, rule::kNoAllowedRoot},
      {"SymlinkOntoBlockedDir", [](const Sandbox& b) { return extra(b.p("projects/innocent")); },
       rule::kBlockedPattern},
      {"DotDotOutOfTheRoot", [](const Sandbox& b) { return extra(b.p("projects/app/../../forbidden")); },
       rule::kNoAllowedRoot},
      {"DotDotIntoBlocked", [](const Sandbox& b) { return extra(b.p("projects/app/../.ssh")); }, rule::kBlockedPattern},
      {"ProcMagicLink", [](const Sandbox& b) { return extra("/proc/self/root" + b.p("forbidden")); },
       rule::kNoAllowedRoot},
      {"DanglingSymlink", [](const Sandbox& b) { return extra(b.p("projects/dangling")); }, rule::kNotFound},
      {"SymlinkLoop", [](const Sandbox& b) { return extra(b.p("projects/loopA")); }, rule::kUnresolvable},
      {"RootThatIsASymlinkViaLink", [](const Sandbox& b) { return extra(b.p("rootlink/x")); }, rule::kNoAllowedRoot},
      {"RootThatIsASymlinkViaTarget", [](const Sandbox& b) { return extra(b.p("real2/x")); }, rule::kNoAllowedRoot},
      // Blocked names at any depth, any case
      {"BlockedTopLevel", [](const Sandbox& b) { return extra(b.p("projects/.ssh")); }, rule::kBlockedPattern},
      {"BlockedTrailingSlash", [](const Sandbox& b) { return extra(b.p("projects/.ssh/")); }, rule::kBlockedPattern},
      {"BlockedDeepUpperCase", [](const Sandbox& b) { return extra(b.p("projects/deep/a/b/.SSH/keys")); },
       rule::kBlockedPattern},
      {"BlockedSubstringMixedCase", [](const Sandbox& b) { return extra(b.p("projects/My.Env.d")); },
       rule::kBlockedPattern},
      {"BlockedCredentials", [](const Sandbox& b) { return extra(b.p("projects/aws-credentials-backup")); },
       rule::kBlockedPattern},
      {"BlockedUserPattern", [](const Sandbox& b) { return extra(b.p("projects/api-TOKENS")); }, rule::kBlockedPattern},
      {"BlockedIdRsa", [](const Sandbox& b) { return extra(b.p("projects/id_rsa.d")); }, rule::kBlockedPattern},
      {"BlockedThroughTilde", [](const Sandbox&) { return extra("~/.ssh"); }, rule::kBlockedPattern},
      // Never-mountable paths
      {"FileSystemRoot", [](const Sandbox&) { return extra("/"); }, rule::kProtectedPath},
      {"TheAllowlistFile", [](const Sandbox& b) { return extra(b.allowlist); }, rule::kNotDirectory},
      {"TheAllowlistDirectory", [](const Sandbox& b) { return extra(b.p("home/.config/squadbox")); },
       rule::kProtectedPath},
      {"HomeContainingTheAllowlist", [](const Sandbox&) { return extra("~"); }, rule::kProtectedPath},
      {"TheDataDir", [](const Sandbox& b) { return extra(b.p("projects/broker/data")); }, rule::kProtectedPath},
      {"AncestorOfTheDataDir", [](const Sandbox& b) { return extra(b.p("projects/broker")); }, rule::kProtectedPath},
      {"InsideTheDataDir", [](const Sandbox& b) { return extra(b.p("projects/broker/data/sessions")); },
       rule::kProtectedPath},
      {"TheWholeRootExposesTheDataDir", [](const Sandbox& b) { return extra(b.p("projects")); }, rule::kProtectedPath},
      {"VaultKeyDirectory", [](const Sandbox& b) { return extra(b.p("projects/keys")); }, rule::kProtectedPath},
      {"ConfigFileDirectory", [](const Sandbox& b) { return extra(b.p("projects/cfg")); }, rule::kProtectedPath},
      // Container path (the extra mount's name): injection
      {"NamePrivilegedFlag", [](const Sandbox& b) { return extra(b.p("projects/app"), "--privileged"); },
       rule::kInvalidContainerPath},
      {"NameVolumeFlag", [](const Sandbox& b) { return extra(b.p("projects/app"), "-v"); },
       rule::kInvalidContainerPath},
      {"NameWithColon", [](const Sandbox& b) { return extra(b.p("projects/app"), "a:b"); },
       rule::kInvalidContainerPath},
      {"NameDotDot", [](const Sandbox& b) { return extra(b.p("projects/app"), "../x"); }, rule::kInvalidContainerPath},
      {"NameEmpty", [](const Sandbox& b) { return extra(b.p("projects/app"), ""); }, rule::kInvalidContainerPath},
      {"NameDot", [](const Sandbox& b) { return extra(b.p("projects/app"), "."); }, rule::kInvalidContainerPath},
      {"NameNulByte", [](const Sandbox& b) { return extra(b.p("projects/app"), std::string("a\0b", 3)); },
       rule::kInvalidContainerPath},
      {"NameNewline", [](const Sandbox& b) { return extra(b.p("projects/app"), "a\nb"); }, rule::kInvalidContainerPath},
      {"NameAbsolute", [](const Sandbox& b) { return extra(b.p("projects/app"), "/etc"); },
       rule::kInvalidContainerPath},
      // Host path text
      {"HostPathNulByte",
       [](const Sandbox& b) { return extra(b.p("projects/app") + std::string("\0/../../forbidden", 17)); },
       rule::kInvalidHostPath},
      {"HostPathNewline", [](const Sandbox& b) { return extra(b.p("projects/app\n")); }, rule::kInvalidHostPath},
      {"HostPathColon", [](const Sandbox& b) { return extra(b.p("projects/app:/etc")); }, rule::kInvalidHostPath},
      {"HostPathComma", [](const Sandbox& b) { return extra(b.p("projects/app,target=/etc")); },
       rule::kInvalidHostPath},
      {"HostPathRelative", [](const Sandbox&) { return extra("projects/app"); }, rule::kInvalidHostPath},
      {"HostPathEmpty", [](const Sandbox&) { return extra(""); }, rule::kInvalidHostPath},
      {"HostPathVeryLong",
       [](const Sandbox& b) {
         std::string p = b.p("projects");
         while (p.size() < 8000) p += "/aaaaaaaa";
         return extra(p);
       },
       rule::kInvalidHostPath},
      // The file system
      {"NonExistent", [](const Sandbox& b) { return extra(b.p("projects/nope")); }, rule::kNotFound},
      {"FileInsteadOfDirectory", [](const Sandbox& b) { return extra(b.p("projects/app/file.txt")); },
       rule::kNotDirectory},
      {"BindMountLoopSource", [](const Sandbox& b) { return extra(b.loop_source); }, rule::kSubmount},
      {"BindMountLoopTarget", [](const Sandbox& b) { return extra(b.loop_target); }, rule::kBindMount},
      {"OutsideEveryRoot", [](const Sandbox& b) { return extra(b.p("forbidden")); }, rule::kNoAllowedRoot},
      {"OperatorWorkspaceOnBlocked",
       [](const Sandbox& b) {
         return MountQuery{MountKind::operator_workspace, b.p("projects/.ssh"), "", true, "", true};
       },
       rule::kBlockedPattern},
      {"OperatorWorkspaceOnDataDir",
       [](const Sandbox& b) {
         return MountQuery{MountKind::operator_workspace, b.p("projects/broker"), "", true, "", true};
       },
       rule::kProtectedPath},
  };
  return cases;
}

TEST_P(HostileCorpus, IsDenied) {
  const HostileCase& c = GetParam();
  ASSERT_NE(g_box, nullptr);
  std::vector<AuditRecord> audit;
  metrics::Registry metrics;
  auto d =
      check_mount(g_box->rules, c.query(*g_box), {[&](AuditRecord r) { audit.push_back(std::move(r)); }, &metrics});
  EXPECT_FALSE(d.allowed) << c.label << " was allowed: " << d.reason;
  EXPECT_EQ(d.rule, c.expected_rule) << d.reason;
  EXPECT_EQ(d.pinned, nullptr) << "a denied mount holds nothing open";
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].event, "mount.denied");
  for (const std::string* text : {&audit[0].subject, &d.reason})
    EXPECT_EQ(std::count_if(text->begin(), text->end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20; }),
              0)
        << "control characters are never echoed: " << *text;
  EXPECT_NE(audit[0].detail.find(std::string("\"rule\":\"") + c.expected_rule + "\""), std::string::npos)
      << audit[0].detail;
  EXPECT_NE(metrics.render().find(std::string("squadbox_mount_decisions_total{decision=\"denied\",rule=\"") +
                                  c.expected_rule + "\"} 1"),
            std::string::npos)
      << metrics.render();
}

INSTANTIATE_TEST_SUITE_P(Allowlist, HostileCorpus, ::testing::ValuesIn(corpus()),
                         [](const ::testing::TestParamInfo<HostileCase>& info) {
                           return std::string(info.param.label);
                         });

TEST(HostileCorpusSize, AtLeastThirtyCases) {
  EXPECT_GE(corpus().size(), 30u);
}

// The same tree also allows what it should: the corpus fails for the right reasons.
TEST_F(CorpusTree, ControlCasesAreAllowed) {
  auto ok = check_mount(g_box->rules, extra(g_box->p("projects/app"), "app", true));
  EXPECT_TRUE(ok.allowed) << ok.rule << ": " << ok.reason;
  EXPECT_FALSE(ok.read_write) << "nonMainReadOnly: team is not the main group";
  ASSERT_NE(ok.pinned, nullptr);
  EXPECT_EQ(ok.host_path, g_box->p("projects/app"));
  EXPECT_EQ(ok.container_path, "/workspace/extra/app");
  auto main =
      check_mount(g_box->rules, MountQuery{MountKind::extra, g_box->p("projects/app/src"), "src", true, "main", true});
  EXPECT_TRUE(main.allowed) << main.reason;
  EXPECT_TRUE(main.read_write);
  auto home = check_mount(g_box->rules, extra("~/notes"));
  EXPECT_TRUE(home.allowed) << home.reason;
  EXPECT_EQ(home.host_path, g_box->p("home/notes"));
  ASSERT_FALSE(g_box->rules.warnings.empty());
  bool symlinked_root_dropped = false;
  for (const auto& w : g_box->rules.warnings) symlinked_root_dropped |= w.find("rootlink") != std::string::npos;
  EXPECT_TRUE(symlinked_root_dropped);
}

}  // namespace
}  // namespace sb::security::allowlist
