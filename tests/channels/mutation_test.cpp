// Robustness: every truncation and thousands of random byte mutations of realistic
// payloads go through each parser and verifier. Any outcome is fine except a crash,
// a sanitizer report, or a "success" that breaks the output invariants.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "channels/bot/split.hpp"
#include "channels/discord/parse.hpp"
#include "channels/discord/verify.hpp"
#include "channels/slack/parse.hpp"
#include "channels/slack/verify.hpp"
#include "channels/telegram/parse.hpp"
#include "channels/whatsapp/parse.hpp"
#include "channels/whatsapp/verify.hpp"
#include "runtime/core/utf8.hpp"

namespace sb::channels {
namespace {

const std::string kSlack = R"({"type":"event_callback","event_id":"Ev1","event":{"type":"message",
  "channel":"C1","user":"U1","text":"hi <@U0BOT> &amp; \u00e9","ts":"1355517523.000005",
  "thread_ts":"1355517500.000100","channel_type":"channel","user_profile":{"real_name":"A"}}})";
const std::string kSlackForm = "command=%2Fask&text=hello+there&channel_id=C1&user_id=U1&user_name=a&trigger_id=1.2.3";
const std::string kDiscord = R"({"id":"786008729715212338","application_id":"775799577604522054",
  "type":2,"token":"tok","channel_id":"772908445358620702","guild_id":"1",
  "member":{"user":{"id":"53908232506183680","username":"a","global_name":"A"}},
  "data":{"name":"ask","options":[{"name":"sub","type":1,"options":[{"name":"q","type":3,"value":"x"},
  {"name":"n","type":10,"value":1.5}]}]}})";
const std::string kWhatsApp = R"({"object":"whatsapp_business_account","entry":[{"changes":[
  {"field":"messages","value":{"metadata":{"phone_number_id":"1"},"contacts":[{"profile":{"name":"S"},
  "wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.1","timestamp":"1749416383",
  "type":"text","text":{"body":"hello"},"context":{"id":"wamid.0"}}],"statuses":[{"id":"w","status":"read"}]}}]}]})";
const std::string kTelegram = R"({"update_id":5,"message":{"message_id":2,"date":1718000000,
  "from":{"id":5,"is_bot":false,"first_name":"A","last_name":"B"},"chat":{"id":-100,"type":"group"},
  "text":"\ud83d\ude80 @bot hi","entities":[{"offset":3,"length":4,"type":"mention"}],
  "reply_to_message":{"message_id":1,"from":{"id":7}}}})";

void check_messages(const messaging::ParsedDelivery& d) {
  for (const messaging::InboundMessage& m : d.messages) {
    EXPECT_FALSE(m.chat_jid.empty());
    EXPECT_TRUE(messaging::parse_jid(m.chat_jid).ok()) << m.chat_jid;
    EXPECT_FALSE(m.platform_message_id.empty());
    EXPECT_TRUE(utf8::is_valid(m.text)) << messaging::channel_name(m.channel);
    EXPECT_TRUE(utf8::is_valid(m.sender_name)) << messaging::channel_name(m.channel);
  }
}

void run_all_parsers(std::string_view body) {
  if (auto r = slack::parse_event({"s", "U0BOT"}, body); r.ok()) check_messages(*r);
  if (auto r = slack::parse_slash_command({"s", "U0BOT"}, body, 1); r.ok()) check_messages(*r);
  if (auto r = discord::parse_interaction({"d", ""}, body); r.ok()) check_messages(*r);
  if (auto r = whatsapp::parse_delivery({"w", ""}, body); r.ok()) check_messages(*r);
  if (auto r = telegram::parse_update({"t", 7, "bot"}, body); r.ok()) check_messages(*r);
  if (auto r = telegram::parse_get_updates({"t", 7, "bot"}, body); r.ok()) check_messages(r->delivery);
}

std::vector<std::string> mutations(const std::string& seed, std::mt19937& rng, int count) {
  std::vector<std::string> out;
  for (std::size_t cut = 0; cut <= seed.size(); ++cut) out.push_back(seed.substr(0, cut));
  static const char kInteresting[] = "{}[]\":,0-9e.\\u\xff\xc3\x80 \0";
  static const std::string interesting(kInteresting, sizeof kInteresting - 1);  // keeps the NUL
  for (int i = 0; i < count; ++i) {
    std::string s = seed;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      std::size_t pos = rng() % s.size();
      switch (rng() % 4) {
        case 0: s[pos] = interesting[rng() % interesting.size()]; break;
        case 1: s.erase(pos, 1 + rng() % 8); break;
        case 2: s.insert(pos, s.substr(rng() % s.size(), rng() % 16)); break;
        default: s[pos] = static_cast<char>(rng() & 0xff); break;
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

TEST(ChannelMutation, ParsersSurviveMutatedPayloads) {
  std::mt19937 rng(7);
  for (const std::string* seed : {&kSlack, &kSlackForm, &kDiscord, &kWhatsApp, &kTelegram}) {
    run_all_parsers(*seed);
    for (const std::string& m : mutations(*seed, rng, 1500)) run_all_parsers(m);
  }
}

TEST(ChannelMutation, VerifiersSurviveMutatedHeaders) {
  std::mt19937 rng(8);
  auto slack = slack::Verifier::create(Secret{"secret"});
  auto discord = discord::Verifier::create("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto whatsapp = whatsapp::Verifier::create(Secret{"secret"}, Secret{"token"});
  ASSERT_TRUE(slack.ok() && discord.ok() && whatsapp.ok());
  std::string good_slack = slack->sign("1700000000", kSlack);
  for (const std::string& sig : mutations(good_slack, rng, 500)) {
    std::vector<Header> h{{"X-Slack-Request-Timestamp", "1700000000"}, {"X-Slack-Signature", sig}};
    Verdict d =
        slack->verify({"POST", h, "", kSlack}, std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)));
    if (sig != good_slack) {
      EXPECT_EQ(d.kind, Verdict::Kind::reject) << sig;
    }
  }
  for (const std::string& ts : mutations("1700000000", rng, 200)) {
    std::vector<Header> h{{"X-Signature-Timestamp", ts}, {"X-Signature-Ed25519", std::string(128, 'a')}};
    EXPECT_EQ(discord->verify({"POST", h, "", kDiscord}).kind, Verdict::Kind::reject);
  }
  for (const std::string& q : mutations("hub.mode=subscribe&hub.challenge=12&hub.verify_token=token", rng, 500)) {
    Verdict d = whatsapp->verify({"GET", {}, q, ""});
    if (d.kind == Verdict::Kind::respond) {
      EXPECT_EQ(d.status, 200);
      EXPECT_FALSE(d.body.empty());
      EXPECT_LE(d.body.size(), 256u);
    }
  }
}

TEST(ChannelMutation, SplitterSurvivesRandomBytes) {
  std::mt19937 rng(9);
  for (int i = 0; i < 300; ++i) {
    std::string bytes(rng() % 2000, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    SplitRule rule{1 + rng() % 100, i % 2 ? LengthUnit::utf16_units : LengthUnit::code_points};
    for (const std::string& piece : split_message(bytes, rule)) {
      EXPECT_TRUE(utf8::is_valid(piece));
      EXPECT_LE(measure(piece, rule.unit), std::max<std::size_t>(rule.max_units, 2));
    }
  }
}

}  // namespace
}  // namespace sb::channels
