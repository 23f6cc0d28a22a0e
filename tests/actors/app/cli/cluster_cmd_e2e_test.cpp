// `squadbox cluster ca init` and `squadbox cluster cert issue`: the real binary, checked by
// the openssl CLI (an independent reader of what it wrote), exit codes for refusals.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/child_process.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;

struct Outcome {
  int code = -100;
  std::string out, err;
};

class ClusterCertsCli : public ::testing::Test {
 protected:
  Outcome run(std::vector<std::string> args) {
    args.insert(args.begin(), "cluster");
    sb::test::ChildProcess p(sb::test::bin_dir() + "/squadbox", args, {}, dir.file("cli-" + std::to_string(++runs)));
    auto code = p.wait(60s);
    return {code.value_or(-100), p.stdout_text(), p.stderr_text()};
  }
  // `openssl verify` of a node certificate against a CA for one TLS end.
  int openssl_verify(const std::string& ca, const std::string& cert, const std::string& purpose) {
    const std::string cmd = "openssl verify -CAfile '" + ca + "' -purpose " + purpose + " '" + cert + "' >'" +
                            dir.file("verify.out") + "' 2>&1";
    return std::system(cmd.c_str());
  }

  sb::test::TempDir dir{"sb-cluster-cli"};
  int runs = 0;
};

TEST_F(ClusterCertsCli, ACaAndTwoNodesWhoseCertificatesOpensslAccepts) {
  const std::string ca = dir.file("pki");
  auto init = run({"ca", "init", ca});
  ASSERT_EQ(init.code, 0) << init.err;
  EXPECT_NE(init.out.find(ca + "/ca.crt"), std::string::npos) << init.out;
  for (const char* node : {"node-a", "node-b"}) {
    auto issued = run({"cert", "issue", node, "--ca", ca, "--san", "127.0.0.1"});
    ASSERT_EQ(issued.code, 0) << issued.err;
    const std::string cert = ca + "/" + node + ".crt";
    EXPECT_EQ(openssl_verify(ca + "/ca.crt", cert, "sslserver"), 0) << node;
    EXPECT_EQ(openssl_verify(ca + "/ca.crt", cert, "sslclient"), 0) << node;
    struct stat st {};
    ASSERT_EQ(::stat((ca + "/" + node + ".key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << node;
  }
  // A certificate from another CA is not accepted by this one.
  ASSERT_EQ(run({"ca", "init", dir.file("other")}).code, 0);
  ASSERT_EQ(run({"cert", "issue", "intruder", "--ca", dir.file("other")}).code, 0);
  EXPECT_NE(openssl_verify(ca + "/ca.crt", dir.file("other") + "/intruder.crt", "sslclient"), 0);
}

TEST_F(ClusterCertsCli, RefusalsAreUsageErrorsThatNameTheReason) {
  const std::string ca = dir.file("pki");
  ASSERT_EQ(run({"ca", "init", ca}).code, 0);
  auto again = run({"ca", "init", ca});
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.err.find("pki.exists"), std::string::npos) << again.err;
  auto bad = run({"cert", "issue", "Node_A", "--ca", ca});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("pki.bad_name"), std::string::npos) << bad.err;
  auto no_ca = run({"cert", "issue", "node-a", "--ca", dir.file("missing")});
  EXPECT_EQ(no_ca.code, 2);
  EXPECT_NE(no_ca.err.find("cluster ca init"), std::string::npos) << no_ca.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing") + "/node-a.key"));
}

}  // namespace

namespace {

// A single node: `cluster status` says so in both forms; a drain is refused (409).
TEST(ClusterStatusCli, ASingleNodeSaysItIsNotAClusterAndRefusesADrain) {
  sb::test::TempDir dir;
  sb::test::NodeProcess node(dir);
  ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();
  auto table = sb::test::run_cli(dir, "status", {"cluster", "status", "--data-dir", dir.path()});
  EXPECT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("not a cluster"), std::string::npos) << table.out;
  auto json = sb::test::run_cli(dir, "json", {"cluster", "status", "-o", "json", "--data-dir", dir.path()});
  EXPECT_EQ(json.code, 0) << json.err;
  EXPECT_NE(json.out.find(R"("enabled":false)"), std::string::npos) << json.out;
  auto drain = sb::test::run_cli(dir, "drain", {"cluster", "drain", "node-a", "--data-dir", dir.path()});
  EXPECT_NE(drain.code, 0);
  EXPECT_NE(drain.err.find("not part of a cluster (HTTP 409)"), std::string::npos) << drain.err;
  auto bad = sb::test::run_cli(dir, "bad", {"cluster", "status", "-o", "yaml", "--data-dir", dir.path()});
  EXPECT_NE(bad.code, 0);
  EXPECT_EQ(node.stop(), 0);
}

}  // namespace
