// Pure outbound logic: retry/backoff decisions, per-chat ordering, the outbox SQL and the
// admin API's parsing and rendering. No sockets, no actors.
#include <map>

#include <gtest/gtest.h>

#include "actors/app/admin/outbox_routes.hpp"
#include "channels/delivery/delivery_order.hpp"
#include "channels/delivery/prepare_message.hpp"
#include "channels/delivery/retry_policy.hpp"
#include "channels/factory/bot_factory.hpp"
#include "storage/outbox_store.hpp"

namespace {

using namespace sb::channels;
using namespace sb::channels::delivery;
using namespace sb::storage;
using namespace sb::app::admin;
using namespace std::chrono_literals;

RetryPolicy policy() {
  RetryPolicy p;
  p.max_attempts = 4;
  p.backoff_base = 1000ms;
  p.backoff_max = 5000ms;
  p.rate_limit_horizon = 60000ms;
  return p;
}

TEST(Backoff, DoublesFromTheBaseUpToTheCapWithEqualJitter) {
  const auto p = policy();
  // jitter 0: the fixed half; jitter ~1: the full delay.
  struct Row {
    int64_t failed;
    int64_t low, high;
  };
  for (const Row& r :
       {Row{1, 500, 1000}, Row{2, 1000, 2000}, Row{3, 2000, 4000}, Row{4, 2500, 5000}, Row{40, 2500, 5000}}) {
    EXPECT_EQ(backoff_delay(r.failed, p, 0.0).count(), r.low) << r.failed;
    EXPECT_EQ(backoff_delay(r.failed, p, 1.0).count(), r.high) << r.failed;
    const auto mid = backoff_delay(r.failed, p, 0.5).count();
    EXPECT_GT(mid, r.low);
    EXPECT_LT(mid, r.high);
  }
  // Out-of-range jitter is clamped, never negative or beyond the cap.
  EXPECT_EQ(backoff_delay(1, p, -3.0).count(), 500);
  EXPECT_EQ(backoff_delay(1, p, 7.0).count(), 1000);
}

TEST(RetryDecision, TableOfOutcomes) {
  const auto p = policy();
  const int64_t now = 100000;
  struct Case {
    const char* name;
    DeliveryOutcome outcome;
    RowProgress row;
    RetryDecision::Kind kind;
    int64_t attempts;
    int64_t next_at;  // retry only
  };
  const std::vector<Case> cases = {
      {"success", success_outcome("m1"), {0, now}, RetryDecision::Kind::sent, 1, 0},
      {"success after retries", success_outcome(""), {2, now}, RetryDecision::Kind::sent, 3, 0},
      {"auth error", permanent_outcome("invalid_auth"), {0, now}, RetryDecision::Kind::failed, 1, 0},
      {"5xx first", transient_outcome("http_500"), {0, now}, RetryDecision::Kind::retry, 1, now + 500},
      {"5xx third", transient_outcome("http_503"), {2, now}, RetryDecision::Kind::retry, 3, now + 2000},
      {"5xx last allowed", transient_outcome("network"), {3, now}, RetryDecision::Kind::failed, 4, 0},
      {"429 keeps attempts",
       retry_outcome(3000ms, "rate_limited"),
       {2, now},
       RetryDecision::Kind::retry,
       2,
       now + 3000},
      {"429 past the horizon",
       retry_outcome(3000ms, "rate_limited"),
       {2, now - 58000},
       RetryDecision::Kind::failed,
       2,
       0},
  };
  for (const auto& c : cases) {
    const auto d = decide(c.outcome, c.row, now, p, 0.0);
    EXPECT_EQ(d.kind, c.kind) << c.name;
    EXPECT_EQ(d.attempts, c.attempts) << c.name;
    if (c.kind == RetryDecision::Kind::retry) {
      EXPECT_EQ(d.next_attempt_at_ms, c.next_at) << c.name;
    }
    if (c.kind != RetryDecision::Kind::sent) {
      EXPECT_FALSE(d.error.empty()) << c.name;
    }
  }
  // A 429 pauses the whole bot; so does an exhausted bucket on a success.
  EXPECT_EQ(decide(retry_outcome(3000ms, "rate_limited"), {0, now}, now, p, 0).bot_pause_until_ms, now + 3000);
  auto ok = success_outcome("");
  ok.bucket_pause = 700ms;
  EXPECT_EQ(decide(ok, {0, now}, now, p, 0).bot_pause_until_ms, now + 700);
  EXPECT_EQ(decide(success_outcome(""), {0, now}, now, p, 0).bot_pause_until_ms, 0);
  EXPECT_NE(decide(transient_outcome("network"), {3, now}, now, p, 0).error.find("gave up after 4"), std::string::npos);
}

TEST(RetryDecision, NeverRetriesForever) {
  // Whatever mix of answers, a row ends after max_attempts failures or the horizon.
  const auto p = policy();
  RowProgress row{0, 0};
  int64_t now = 0;
  int rounds = 0;
  for (; rounds < 10000; ++rounds) {
    const auto outcome = rounds % 2 ? retry_outcome(5000ms, "rate_limited") : transient_outcome("http_502");
    const auto d = decide(outcome, row, now, p, 0.5);
    if (d.kind != RetryDecision::Kind::retry) break;
    row.attempts = d.attempts;
    now = d.next_attempt_at_ms;
  }
  EXPECT_LT(rounds, 20);
}

TEST(RetryPolicy, FromConfigKeepsValuesSane) {
  sb::config::OutboundConfig c;
  c.max_attempts = 0;
  c.backoff_base_ms = 200;
  c.backoff_max_ms = 50;
  const auto p = RetryPolicy::from(c);
  EXPECT_EQ(p.max_attempts, 1);
  EXPECT_EQ(p.backoff_base.count(), 200);
  EXPECT_EQ(p.backoff_max.count(), 200);
}

TEST(DeliveryOrder, ARowNeverOvertakesAnEarlierUndeliveredRowOfItsChat) {
  const int64_t now = 1000;
  DeliveryOrder order(now);
  // Rows in id order: (chat, next_attempt_at) -> admitted?
  struct Row {
    const char* chat;
    int64_t next_at;
    bool admitted;
  };
  const std::vector<Row> rows = {
      {"slack:A", 900, true},    // due
      {"slack:B", 5000, false},  // not due: holds B
      {"slack:A", 100, true},    // A's next, due
      {"slack:B", 100, false},   // due, but B's earlier row waits
      {"slack:C", 1000, true},
  };
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(order.admit(rows[i].chat, rows[i].next_at), rows[i].admitted) << i;
  // C's row failed transiently: its later rows wait too.
  order.hold("slack:C", 3000);
  EXPECT_FALSE(order.admit("slack:C", 0));
  EXPECT_TRUE(order.admit("slack:D", 0));
  EXPECT_EQ(order.next_due(), 3000);
}

TEST(DeliveryOrder, APauseStopsEveryChatAndSetsTheWakeUp) {
  DeliveryOrder order(1000);
  EXPECT_TRUE(order.admit("tg:1", 0));
  order.pause(4000);
  EXPECT_TRUE(order.paused());
  EXPECT_FALSE(order.admit("tg:2", 0));
  EXPECT_FALSE(order.admit("tg:1", 0));
  EXPECT_EQ(order.next_due(), 4000);
  // A held row due before the pause ends still waits for it; one due later keeps its time.
  DeliveryOrder later(1000);
  later.pause(2000);
  EXPECT_FALSE(later.admit("tg:9", 8000));
  EXPECT_EQ(later.next_due(), 8000);
  DeliveryOrder idle(1000);
  EXPECT_EQ(idle.next_due(), std::nullopt);
  // A pause in the past changes nothing.
  DeliveryOrder past(1000);
  past.pause(500);
  EXPECT_TRUE(past.admit("tg:1", 0));
}

TEST(OutboxSql, InsertIsOneStatementReturningItsIdsInPieceOrder) {
  const auto op = insert_pieces("slack", "main", "slack:C1", {"a", "b", "c"}, "", 42);
  EXPECT_EQ(op.params.size(), 24u);
  EXPECT_EQ(std::count(op.sql.begin(), op.sql.end(), ';'), 0);
  EXPECT_NE(op.sql.find("?24)"), std::string::npos) << op.sql;  // numbered placeholders
  EXPECT_TRUE(op.sql.ends_with(" RETURNING id")) << op.sql;
  EXPECT_EQ(op.params[4].kind, sb::storage::SqlParam::null_value);  // no reply_to -> NULL
  sb::storage::WriteOutcome out;
  out.ok = true;
  out.returned_ids = {10, 8, 9};  // RETURNING promises no row order
  EXPECT_EQ(inserted_ids(out), (std::vector<int64_t>{8, 9, 10}));
  EXPECT_EQ(insert_pieces("discord", "m", "dc:1", {"x"}, "tok", 1).params[4].s, "tok");
}

TEST(OutboxSql, ListFilterValidatesEveryParameter) {
  auto ok = parse_list_filter("failed", "slack/main", "5");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->channel, "slack");
  EXPECT_EQ(ok->bot, "main");
  EXPECT_EQ(ok->limit, 5);
  const auto q = list_query(*ok);
  EXPECT_NE(q.sql.find("state = ?"), std::string::npos);
  EXPECT_EQ(q.params.size(), 4u);
  EXPECT_EQ(list_query(ListFilter{}).params.size(), 1u);
  EXPECT_EQ(parse_list_filter("", "", "").value().limit, 100);
  EXPECT_EQ(parse_list_filter("done", "", "").error().code, "outbox.bad_state");
  for (const char* bot : {"slack", "irc/main", "slack/", "slack/Main", "slack/a b", "/main"})
    EXPECT_EQ(parse_list_filter("", bot, "").error().code, "outbox.bad_bot") << bot;
  for (const char* limit : {"0", "1001", "-1", "10x", "abc", " 5"})
    EXPECT_EQ(parse_list_filter("", "", limit).error().code, "outbox.bad_limit") << limit;
}

TEST(OutboxApi, EnqueueBodyNamesTheBadField) {
  auto ok = parse_enqueue_body(R"({"bot":"slack/main","chatJid":"slack:C1","text":"hi","replyTo":"1.2"})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->bot_id, "slack/main");
  EXPECT_EQ(ok->reply_to, "1.2");
  EXPECT_TRUE(parse_enqueue_body(R"({"bot":"a/b","chatJid":"x","text":"t","replyTo":null})").ok());
  struct Bad {
    const char* body;
    const char* code;
    const char* names;
  };
  for (const Bad& b : {Bad{"{", "invalid_json", "body"}, Bad{"[1]", "invalid_json", "body"},
                       Bad{R"({"chatJid":"x","text":"t"})", "invalid_field", "bot"},
                       Bad{R"({"bot":"a/b","text":"t"})", "invalid_field", "chatJid"},
                       Bad{R"({"bot":"a/b","chatJid":"x","text":""})", "invalid_field", "text"},
                       Bad{R"({"bot":"a/b","chatJid":"x","text":7})", "invalid_field", "text"},
                       Bad{R"({"bot":"a/b","chatJid":"x","text":"t","replyTo":5})", "invalid_field", "replyTo"}}) {
    auto r = parse_enqueue_body(b.body);
    ASSERT_FALSE(r.ok()) << b.body;
    EXPECT_EQ(r.error().code, b.code) << b.body;
    EXPECT_EQ(r.error().message.rfind(b.names, 0), 0u) << r.error().message;
  }
}

TEST(OutboxApi, ErrorsMapToStatuses) {
  EXPECT_EQ(enqueue_error_response({"outbox.unknown_bot", "no enabled bot x/y"}).status, 404);
  EXPECT_EQ(enqueue_error_response({"outbox.bad_jid", "nope"}).status, 400);
  EXPECT_NE(enqueue_error_response({"outbox.bad_jid", "nope"}).body.find("chatJid: nope"), std::string::npos);
  EXPECT_EQ(enqueue_error_response({"outbox.empty_text", "text is empty"}).status, 400);
  EXPECT_EQ(enqueue_error_response({"outbox.storage", "disk full"}).status, 503);
}

TEST(OutboxApi, DiscordReplyTokensAreNeverListed) {
  OutboxRow discord;
  discord.channel = "discord";
  discord.bot = "main";
  discord.reply_to = "interaction-token-secret";
  OutboxRow slack;
  slack.channel = "slack";
  slack.bot = "main";
  slack.reply_to = "1700000000.000100";
  const std::string json = render_rows({discord, slack});
  EXPECT_EQ(json.find("interaction-token-secret"), std::string::npos) << json;
  EXPECT_NE(json.find("1700000000.000100"), std::string::npos);
  EXPECT_NE(json.find(R"("bot":"discord/main")"), std::string::npos);
}

std::shared_ptr<const ChannelBot> slack_bot(bool with_token) {
  sb::config::ChannelBotConfig c;
  c.platform = "slack";
  c.name = "main";
  c.secrets = {{"signing_secret", "s"}};
  if (with_token) c.secrets["bot_token"] = "t";
  auto bot = make_bot(c, [](const std::string& name) -> sb::Result<sb::Secret> { return sb::Secret("v-" + name); });
  if (!bot) throw std::runtime_error(bot.error().message);
  return std::shared_ptr<const ChannelBot>(std::move(*bot));
}

TEST(PrepareMessage, ChecksTheChatAndSplitsAtTheLimit) {
  const auto bot = slack_bot(true);
  auto ok = prepare_message(*bot, "slack:C1", std::string(45000, 'a'), "");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->pieces.size(), 2u);
  EXPECT_EQ(ok->channel, "slack");
  EXPECT_EQ(ok->bot, "main");
  EXPECT_EQ(prepare_message(*bot, "tg:42", "hi", "").error().code, "outbox.bad_jid");
  EXPECT_EQ(prepare_message(*bot, "slack:", "hi", "").error().code, "outbox.bad_jid");
  EXPECT_EQ(prepare_message(*bot, "nonsense", "hi", "").error().code, "outbox.bad_jid");
  EXPECT_EQ(prepare_message(*bot, "slack:C1", " \n\t", "").error().code, "outbox.empty_text");
  EXPECT_EQ(prepare_message(*bot, "slack:C1", "hi", "a\nb").error().code, "outbox.bad_reply_to");
  EXPECT_EQ(prepare_message(*slack_bot(false), "slack:C1", "hi", "").error().code, "outbox.cannot_send");
}

}  // namespace
