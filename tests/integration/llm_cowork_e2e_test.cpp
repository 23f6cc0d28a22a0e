// The whole credential path end to end: `squadbox cowork` in llm mode runs the agent in
// a real crun container with no network; the agent talks to 127.0.0.1 inside it, the
// bridge relays to the run's proxy socket, the proxy swaps the placeholder for the real
// key from the vault and forwards over TLS (test CA) to a fake Messages API, which checks
// the injected key. The reply comes back to the terminal.
#include <sodium.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "storage/vault_store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using sb::test::ChildProcess;
using sb::test::TempDir;
namespace fs = std::filesystem;

std::string cowork_squadbox() {
  return sb::test::bin_dir() + "/squadbox";
}

std::string random_key() {
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  std::string hex(2 * sizeof b + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), b, sizeof b);
  hex.pop_back();
  return "sk-ant-real-" + hex;
}

class LlmCowork : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "container tests need root (CI runs as root)";
    ASSERT_EQ(sodium_init() >= 0, true);
    fs::create_directories(dir_.file("ws"));
    fs::create_directories(dir_.file("pki"));
    ChildProcess build(cowork_squadbox(), {"image", "build", "--data-dir", dir_.file("data")}, {}, dir_.file("build"));
    ASSERT_EQ(build.wait(60s), 0) << build.stderr_text();
    // The operator stored the key in the node's vault (same data dir, key file).
    sb::storage::VaultOptions vo;
    vo.db_path = dir_.file("data") + "/squadbox.db";
    vo.key_file = dir_.file("data") + "/vault.key";
    auto vault = sb::storage::Vault::open(vo);
    ASSERT_TRUE(vault.ok()) << vault.error().message;
    ASSERT_TRUE((*vault)->set("anthropic", sb::Secret(key_)).ok());
  }

  std::string write_config(const std::string& ca_file, uint16_t port) {
    std::string path = dir_.file("squadbox.toml");
    std::ofstream(path) << "[container]\nagent_mode = \"llm\"\nllm_model = \"test-model\"\n"
                        << "[proxy]\nca_file = \"" << ca_file << "\"\n"
                        << "[proxy.routes.anthropic]\nupstream = \"https://localhost:" << port << "\"\n"
                        << "header = \"x-api-key\"\nsecret = \"anthropic\"\n";
    return path;
  }

  TempDir dir_;
  std::string key_ = random_key();
};

TEST_F(LlmCowork, AgentReachesTheUpstreamThroughTheProxyWithTheRealKeyInjected) {
  auto pki = sb::test::TestPki::generate(dir_.file("pki"));
  sb::test::FakeUpstream upstream({.tls = true, .cert_file = pki.cert_file, .key_file = pki.key_file});
  const std::string key = key_;
  upstream.set_handler([key](const sb::test::RecordedRequest& r) {
    if (r.header("x-api-key").value_or("") != key)
      return sb::test::UpstreamReply::json(
          401, R"({"type":"error","error":{"type":"authentication_error","message":"bad key"}})");
    return sb::test::UpstreamReply::json(
        200,
        R"({"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"pong from the model"}],"stop_reason":"end_turn"})");
  });
  auto config = write_config(pki.ca_file, upstream.port());

  ChildProcess cowork(cowork_squadbox(),
                      {"cowork", "--config", config, "--data-dir", dir_.file("data"), "--workspace", dir_.file("ws"),
                       "--", "hello", "model"},
                      {}, dir_.file("cowork"));
  ASSERT_EQ(cowork.wait(90s), 0) << cowork.stderr_text();
  EXPECT_EQ(cowork.stdout_text(), "pong from the model\n");

  auto seen = upstream.requests();
  ASSERT_EQ(seen.size(), 1u);
  const auto& req = seen[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/v1/messages");
  EXPECT_EQ(req.header("x-api-key").value_or(""), key_);
  EXPECT_EQ(req.header_count("x-api-key"), 1u);
  EXPECT_FALSE(req.header("authorization").has_value());
  EXPECT_EQ(req.header("anthropic-version").value_or(""), "2023-06-01");
  EXPECT_NE(req.body.find("\"test-model\""), std::string::npos) << req.body;
  EXPECT_NE(req.body.find("hello model"), std::string::npos) << req.body;
  EXPECT_EQ(req.tls_server_name, "localhost");
  // Nothing the operator sees carries the key.
  EXPECT_EQ(cowork.stderr_text().find(key_), std::string::npos);
  EXPECT_EQ(cowork.stdout_text().find(key_), std::string::npos);
}

TEST_F(LlmCowork, UntrustedUpstreamCertificateFailsTheTurnWithoutLeakingTheKey) {
  auto pki = sb::test::TestPki::generate(dir_.file("pki"));
  sb::test::FakeUpstream upstream({.tls = true, .cert_file = pki.untrusted_cert, .key_file = pki.untrusted_key});
  upstream.set_handler([](const sb::test::RecordedRequest&) { return sb::test::UpstreamReply::json(200, "{}"); });
  auto config = write_config(pki.ca_file, upstream.port());
  ChildProcess cowork(
      cowork_squadbox(),
      {"cowork", "--config", config, "--data-dir", dir_.file("data"), "--workspace", dir_.file("ws"), "--", "hi"}, {},
      dir_.file("cowork"));
  EXPECT_NE(cowork.wait(90s), 0);
  EXPECT_TRUE(upstream.requests().empty());  // the TLS handshake never completed
  EXPECT_NE(cowork.stderr_text().find("502"), std::string::npos) << cowork.stderr_text();
  EXPECT_EQ(cowork.stderr_text().find(key_), std::string::npos);
}

}  // namespace
