// `squadbox mounts check`: the real binary, a real config and allowlist file, no node.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class MountsCheckCli : public ::testing::Test {
 protected:
  void SetUp() override {
    base = fs::canonical(dir.path()).string();
    for (const char* d : {"projects/app", "projects/.ssh", "data", "other"}) fs::create_directories(base + "/" + d);
    allowlist = base + "/allowlist.json";
    std::ofstream(allowlist) << R"({"allowedRoots":[{"path":")" << base
                             << R"(/projects","allowReadWrite":true,"description":"code"}]})";
    write_config(allowlist);
  }
  void write_config(const std::string& allowlist_file) {
    std::ofstream(base + "/squadbox.toml") << "[node]\ndata_dir = \"" << base << "/data\"\n"
                                           << "[security]\nallowlist_file = \"" << allowlist_file << "\"\n";
  }
  struct Outcome {
    int code = -100;
    std::string out, err;
  };
  Outcome check(std::vector<std::string> args) {
    std::vector<std::string> argv = {"mounts", "check", "-c", base + "/squadbox.toml"};
    argv.insert(argv.end(), args.begin(), args.end());
    sb::test::ChildProcess p(sb::test::bin_dir() + "/squadbox", argv, {}, base + "/cli-" + std::to_string(++runs));
    auto code = p.wait(60s);
    return {code.value_or(-100), p.stdout_text(), p.stderr_text()};
  }

  sb::test::TempDir dir{"sb-mounts-cli"};
  std::string base, allowlist;
  int runs = 0;
};

TEST_F(MountsCheckCli, AllowedExitsZeroAndNamesTheRoot) {
  auto r = check({base + "/projects/app"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("allowed: " + base + "/projects/app -> /workspace/extra/app (read-only)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("rule: allowed_root"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(code)"), std::string::npos) << "the root's description is shown: " << r.out;
}

TEST_F(MountsCheckCli, ReadWriteNeedsMainWhenNonMainReadOnly) {
  auto r = check({base + "/projects/app", "--rw", "--group", "team"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("(read-only)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nonMainReadOnly"), std::string::npos) << r.out;
  r = check({base + "/projects/app", "--rw", "--main", "--name", "code"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("-> /workspace/extra/code (read-write)"), std::string::npos) << r.out;
}

TEST_F(MountsCheckCli, DeniedExitsOneWithTheRule) {
  auto r = check({base + "/projects/.ssh"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("denied: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rule: blocked_pattern"), std::string::npos) << r.out;
  r = check({base + "/other"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("rule: no_allowed_root"), std::string::npos) << r.out;
  r = check({base + "/data"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("rule: protected_path"), std::string::npos) << r.out;
  r = check({base + "/projects/app", "--name=--privileged"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("rule: invalid_container_path"), std::string::npos) << r.out << r.err;
}

TEST_F(MountsCheckCli, MissingOrBrokenAllowlistDeniesEverything) {
  write_config(base + "/nope.json");
  auto r = check({base + "/projects/app"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("rule: allowlist_unavailable"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("does not exist"), std::string::npos) << r.out;
  std::ofstream(allowlist, std::ios::trunc) << "{not json";
  write_config(allowlist);
  r = check({base + "/projects/app"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("invalid"), std::string::npos) << r.out;
}

TEST_F(MountsCheckCli, WorkspaceModeNeedsNoRoot) {
  auto r = check({base + "/other", "--workspace"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("rule: operator_choice"), std::string::npos) << r.out;
  r = check({base, "--workspace"});
  EXPECT_EQ(r.code, 1) << "contains the data dir and the allowlist: " << r.out;
}

TEST_F(MountsCheckCli, UsageErrorsExitTwo) {
  EXPECT_EQ(check({}).code, 2);
  EXPECT_EQ(check({base, "--bogus"}).code, 2);
}

}  // namespace
