// Independent peer: Node.js's built-in crypto (OpenSSL) signs Slack, WhatsApp and
// Discord requests; our verifiers (libsodium) must accept exactly those and refuse the
// same signatures over altered bodies. Needs only `node` on PATH, no network, no npm
// packages; skipped when node is missing.
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "channels/discord/verify.hpp"
#include "channels/slack/verify.hpp"
#include "channels/whatsapp/verify.hpp"
#include "runtime/core/hex.hpp"

namespace sb::channels {
namespace {

namespace fs = std::filesystem;

// One request per input line: "<kind> <key hex> <timestamp> <body hex>"; one output
// line each: slack/whatsapp -> the header value; discord -> "<public hex> <sig hex>".
constexpr const char* kSigner = R"JS(
const crypto = require('crypto');
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(l => l.length > 0);
const out = [];
for (const line of lines) {
  const [kind, keyHex, ts, bodyHex] = line.split(' ');
  const key = Buffer.from(keyHex, 'hex');
  const body = Buffer.from(bodyHex, 'hex');
  if (kind === 'slack') {
    const h = crypto.createHmac('sha256', key);
    h.update('v0:' + ts + ':');
    h.update(body);
    out.push('v0=' + h.digest('hex'));
  } else if (kind === 'whatsapp') {
    out.push('sha256=' + crypto.createHmac('sha256', key).update(body).digest('hex'));
  } else if (kind === 'discord') {
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), key]);
    const priv = crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    const pub = crypto.createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(12);
    const sig = crypto.sign(null, Buffer.concat([Buffer.from(ts), body]), priv);
    out.push(pub.toString('hex') + ' ' + sig.toString('hex'));
  }
}
process.stdout.write(out.join('\n') + '\n');
)JS";

std::string find_node() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    fs::path candidate = fs::path(dir) / "node";
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

std::string hex(std::string_view s) {
  return hex_encode({reinterpret_cast<const unsigned char*>(s.data()), s.size()});
}

struct Case {
  std::string kind, key, ts, body;
};

// Runs the signer over all cases at once (one node start).
std::vector<std::string> sign_with_node(const std::string& node, const std::vector<Case>& cases) {
  fs::path dir =
      fs::temp_directory_path() / ("sb_crosscheck_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand()));
  fs::create_directories(dir);
  {
    std::ofstream(dir / "signer.js") << kSigner;
    std::ofstream in(dir / "in.txt");
    for (const Case& c : cases) in << c.kind << ' ' << hex(c.key) << ' ' << c.ts << ' ' << hex(c.body) << '\n';
  }
  std::string cmd = "'" + node + "' '" + (dir / "signer.js").string() + "' < '" + (dir / "in.txt").string() + "' > '" +
                    (dir / "out.txt").string() + "'";
  int rc = std::system(cmd.c_str());
  std::vector<std::string> lines;
  std::ifstream out(dir / "out.txt");
  for (std::string line; std::getline(out, line);) lines.push_back(line);
  fs::remove_all(dir);
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << "node failed: " << cmd;
  return lines;
}

std::string random_bytes(std::mt19937& rng, std::size_t n, bool text) {
  static const std::string alphabet = "abcXYZ019 {}[]\":,.-_=&%+\n\t\xc3\xa9\xe6\xb1\x89\xf0\x9f\x98\x80";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += text ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() & 0xff);
  return s;
}

class CrossCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = find_node();
    if (node_.empty()) GTEST_SKIP() << "node is not installed";
    ASSERT_GE(sodium_init(), 0);
  }
  std::string node_;
};

TEST_F(CrossCheck, SlackSignaturesFromNode) {
  std::mt19937 rng(11);
  std::vector<Case> cases;
  // The published vector, then random secrets and bodies (text and binary).
  cases.push_back(
      {"slack", "8f742231b10e8888abcd99yyyzzz85a5", "1531420618", "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J"});
  for (int i = 0; i < 40; ++i)
    cases.push_back({"slack", random_bytes(rng, 1 + rng() % 100, true), std::to_string(1700000000 + i),
                     random_bytes(rng, rng() % 3000, i % 2 == 0)});
  auto sigs = sign_with_node(node_, cases);
  ASSERT_EQ(sigs.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    auto v = slack::Verifier::create(Secret{c.key});
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->sign(c.ts, c.body), sigs[i]) << i;
    std::vector<Header> headers{{"X-Slack-Request-Timestamp", c.ts}, {"X-Slack-Signature", sigs[i]}};
    auto now = std::chrono::system_clock::time_point(std::chrono::seconds(std::stoll(c.ts)));
    Verdict ok = v->verify({"POST", headers, "", c.body}, now);
    EXPECT_NE(ok.kind, Verdict::Kind::reject) << i << " " << ok.reason;
    std::string altered = c.body + "x";
    EXPECT_EQ(v->verify({"POST", headers, "", altered}, now).reason, "bad_signature") << i;
  }
}

TEST_F(CrossCheck, WhatsAppSignaturesFromNode) {
  std::mt19937 rng(12);
  std::vector<Case> cases{{"whatsapp", "It's a Secret to Everybody", "0", "Hello, World!"}};
  for (int i = 0; i < 40; ++i)
    cases.push_back(
        {"whatsapp", random_bytes(rng, 1 + rng() % 200, i % 3 != 0), "0", random_bytes(rng, rng() % 3000, i % 2 == 0)});
  auto sigs = sign_with_node(node_, cases);
  ASSERT_EQ(sigs.size(), cases.size());
  EXPECT_EQ(sigs[0], "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    auto v = whatsapp::Verifier::create(Secret{c.key}, Secret{"t"});
    ASSERT_TRUE(v.ok());
    std::vector<Header> headers{{"X-Hub-Signature-256", sigs[i]}};
    EXPECT_TRUE(v->verify({"POST", headers, "", c.body}).accepted()) << i;
    std::string altered = c.body.empty() ? "x" : c.body.substr(1);
    EXPECT_EQ(v->verify({"POST", headers, "", altered}).reason, "bad_signature") << i;
  }
}

TEST_F(CrossCheck, DiscordSignaturesFromNode) {
  std::mt19937 rng(13);
  std::vector<Case> cases;
  std::string rfc_seed(32, '\0');
  ASSERT_TRUE(hex_decode_exact("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                               {reinterpret_cast<unsigned char*>(rfc_seed.data()), 32}));
  cases.push_back({"discord", rfc_seed, "1700000000", R"({"type":1})"});
  for (int i = 0; i < 30; ++i)
    cases.push_back({"discord", random_bytes(rng, 32, false), std::to_string(1600000000 + i),
                     random_bytes(rng, rng() % 3000, i % 2 == 0)});
  auto out = sign_with_node(node_, cases);
  ASSERT_EQ(out.size(), cases.size());
  EXPECT_TRUE(out[0].starts_with("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a "));
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    std::string pub = out[i].substr(0, 64), sig = out[i].substr(65);
    auto v = discord::Verifier::create(pub);
    ASSERT_TRUE(v.ok()) << v.error().message;
    std::vector<Header> headers{{"X-Signature-Ed25519", sig}, {"X-Signature-Timestamp", c.ts}};
    Verdict ok = v->verify({"POST", headers, "", c.body});
    EXPECT_NE(ok.kind, Verdict::Kind::reject) << i << " " << ok.reason;
    std::string altered = c.body + " ";
    EXPECT_EQ(v->verify({"POST", headers, "", altered}).reason, "bad_signature") << i;
    std::vector<Header> other_ts{{"X-Signature-Ed25519", sig}, {"X-Signature-Timestamp", c.ts + "0"}};
    EXPECT_EQ(v->verify({"POST", other_ts, "", c.body}).reason, "bad_signature") << i;
  }
  // Node's PING, signed with the RFC key, gets our PONG.
  auto v = discord::Verifier::create(out[0].substr(0, 64));
  std::vector<Header> headers{{"X-Signature-Ed25519", out[0].substr(65)}, {"X-Signature-Timestamp", "1700000000"}};
  EXPECT_EQ(v->verify({"POST", headers, "", R"({"type":1})"}).body, R"({"type":1})");
}

}  // namespace
}  // namespace sb::channels
