// Independent peer: Node.js (its own HTTP client and OpenSSL crypto) signs and posts a
// Slack event, a Discord slash command and a WhatsApp delivery to the listener, plus
// the same requests with one byte of the body changed. Ours must accept exactly the
// genuine ones. Skipped when node is not installed.
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/channels/webhooks/ingress_fixture.hpp"
#include "tests/support/child_process.hpp"

namespace sb::test::ingress {
namespace {

constexpr const char* kClient = R"JS(
const crypto = require('crypto');
const [base, slackSecret, seedHex, waSecret, slackBody, discordBody, waBody] = process.argv.slice(2);
const ts = Math.floor(Date.now() / 1000).toString();
const tamper = (s) => s.replace('"type"', '"typf"');
async function post(path, headers, body) {
  const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return r.status + ' ' + (await r.text());
}
(async () => {
  const slackSig = 'v0=' + crypto.createHmac('sha256', slackSecret).update('v0:' + ts + ':' + slackBody).digest('hex');
  const slackHeaders = { 'x-slack-request-timestamp': ts, 'x-slack-signature': slackSig };
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedHex, 'hex')]);
  const priv = crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const dSig = crypto.sign(null, Buffer.from(ts + discordBody), priv).toString('hex');
  const dHeaders = { 'x-signature-ed25519': dSig, 'x-signature-timestamp': ts };
  const waHeaders = { 'x-hub-signature-256': 'sha256=' + crypto.createHmac('sha256', waSecret).update(waBody).digest('hex') };
  const out = [];
  out.push('slack ' + await post('/webhooks/slack/main', slackHeaders, slackBody));
  out.push('slack-tampered ' + await post('/webhooks/slack/main', slackHeaders, tamper(slackBody)));
  out.push('discord ' + await post('/webhooks/discord/helper', dHeaders, discordBody));
  out.push('discord-tampered ' + await post('/webhooks/discord/helper', dHeaders, tamper(discordBody)));
  out.push('whatsapp ' + await post('/webhooks/whatsapp/shop', waHeaders, waBody));
  out.push('whatsapp-tampered ' + await post('/webhooks/whatsapp/shop', waHeaders, tamper(waBody)));
  process.stdout.write(out.join('\n') + '\n');
})().catch((e) => { console.error(e); process.exit(2); });
)JS";

std::string find_node() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string d; std::getline(dirs, d, ':');) {
    const std::string candidate = d + "/node";
    if (!d.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

class NodeClient : public IngressFixture {};

TEST_F(NodeClient, GenuineRequestsAcceptedTamperedOnesRefused) {
  const std::string node = find_node();
  if (node.empty()) GTEST_SKIP() << "node is not installed";
  start_listener();
  const std::string script = dir.file("client.js");
  std::ofstream(script) << kClient;
  const std::string slack = slack_event("EvNode1"), discord = discord_command("786008729715212400"),
                    wa = whatsapp_delivery("wamid.NODE1");
  ChildProcess p(node, {script, base_url, kSlackSecret, kDiscordSeed, kWhatsAppSecret, slack, discord, wa}, {},
                 dir.file("node"));
  auto code = p.wait(60s);
  ASSERT_TRUE(code.has_value());
  ASSERT_EQ(*code, 0) << p.stderr_text();
  const std::string out = p.stdout_text();
  EXPECT_NE(out.find("slack 200 \n"), std::string::npos) << out;
  EXPECT_NE(out.find("slack-tampered 401"), std::string::npos) << out;
  EXPECT_NE(out.find(R"(discord 200 {"type":5})"), std::string::npos) << out;
  EXPECT_NE(out.find("discord-tampered 401"), std::string::npos) << out;
  EXPECT_NE(out.find("whatsapp 200 \n"), std::string::npos) << out;
  EXPECT_NE(out.find("whatsapp-tampered 401"), std::string::npos) << out;
  EXPECT_EQ(stored("EvNode1"), 1);
  EXPECT_EQ(stored("786008729715212400"), 1);
  EXPECT_EQ(stored("wamid.NODE1"), 1);
}

}  // namespace
}  // namespace sb::test::ingress
