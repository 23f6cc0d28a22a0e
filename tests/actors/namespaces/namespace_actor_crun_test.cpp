// Namespace actors end to end against real crun containers running the real agent
// (echo mode): routed message -> container turn -> reply in the outbox (bot, chat,
// reply_to, idempotency key), batching of messages sent while the agent is busy,
// the cursor and inbound states, replays, the local chat hub, the global slot limit,
// and a container that cannot start. Pure reply rules are tested without containers.
#include <signal.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "actors/channels/channel_sender.hpp"
#include "actors/namespaces/namespace_actor.hpp"
#include "channels/factory/bot_factory.hpp"
#include "runtime/namespaces/reply_plan.hpp"
#include "tests/actors/namespaces/namespace_fixture.hpp"
#include "tests/support/fake_upstream.hpp"

namespace {

using namespace std::chrono_literals;
using sb::test::NamespaceFixture;

class NamespaceRun : public NamespaceFixture {
 protected:
  void SetUp() override {
    NamespaceFixture::SetUp();
    config_.namespaces.start_retry_ms = 300;
    use_containers();
  }
};

TEST_F(NamespaceRun, RoutedMessageGetsEchoReplyThroughTheOutbox) {
  auto ns = make_namespace("alpha", {"slack:C1"});
  start_manager(services());
  auto m = slack_message("hello squad");
  route(ns, m);
  ASSERT_TRUE(wait_rows(1));
  auto rows = outbox_rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].bot, "slack/main");
  EXPECT_EQ(rows[0].chat_jid, "slack:C1");
  EXPECT_EQ(rows[0].reply_to, "1700000000.000100");  // the thread the message came from
  EXPECT_EQ(rows[0].key, ns.id + ":" + std::to_string(m.id) + ":0:0");
  // The echo agent answers with its turn input, readable: `sender: text`.
  EXPECT_EQ(rows[0].text, "Alice: hello squad") << rows[0].text;
  // The turn is recorded: inbound row done with its namespace, cursor at its id.
  ASSERT_TRUE(sb::test::wait_until(
      [&] { return text_of("SELECT state FROM inbound_messages WHERE id = " + std::to_string(m.id)) == "done"; }, 20s));
  EXPECT_EQ(text_of("SELECT namespace_id FROM inbound_messages WHERE id = " + std::to_string(m.id)), ns.id);
  ASSERT_TRUE(sb::test::wait_until(
      [&] {
        return text_of("SELECT last_inbound_id FROM namespace_cursors WHERE namespace_id = '" + ns.id + "'") ==
               std::to_string(m.id);
      },
      20s));
  EXPECT_NE(manager_status().detail.find("namespaces 1, running 1/5"), std::string::npos) << manager_status().detail;
}

// M3 of the 2026-12 audit: the turn used to be marked done before its reply was in the
// outbox, so a crash (or an outbox that could not store it) in between lost the reply of
// an acked message for good. Now the row stays 'received' (to be replayed) unless the
// reply is durably stored.
TEST_F(NamespaceRun, ATurnWhoseReplyCouldNotBeStoredIsNotMarkedDone) {
  auto asked = std::make_shared<std::atomic<int>>(0);
  auto failing = system_.spawn([asked](caf::event_based_actor*) -> caf::behavior {
    return {[asked](sb::actors::enqueue_atom, const sb::actors::outbound_message&) {
      ++*asked;
      return sb::actors::enqueue_result{{}, sb::Error{"outbox.storage", "database or disk is full (injected)"}};
    }};
  });
  auto real = system_.registry().get(caf::atom("outbox"));
  system_.registry().erase(caf::atom("outbox"));
  put("outbox", caf::actor_cast<caf::actor>(failing));
  auto ns = make_namespace("alpha", {"slack:C1"});
  start_manager(services());
  auto m = slack_message("an answer that cannot be stored");
  route(ns, m);
  // The reply is offered again (a retry, with backoff) while the outbox cannot store it;
  // by the second offer a turn record would long have committed had one been sent.
  ASSERT_TRUE(sb::test::wait_until([&] { return asked->load() >= 2; }, 60s)) << "the reply was not retried";
  EXPECT_EQ(text_of("SELECT state FROM inbound_messages WHERE id = " + std::to_string(m.id)), "received");
  EXPECT_EQ(text_of("SELECT count(*) FROM namespace_cursors WHERE namespace_id = '" + ns.id + "'"), "0");
  system_.registry().erase(caf::atom("outbox"));
  system_.registry().put(caf::atom("outbox"), real);
  caf::anon_send_exit(failing, caf::exit_reason::user_shutdown);
}

TEST_F(NamespaceRun, MessagesSentWhileBusyFormTheNextTurnInOrder) {
  auto ns = make_namespace("alpha", {"slack:C1"});
  start_manager(services());
  auto warm = slack_message("warm up");
  auto first = slack_message("first one");
  std::vector<sb::messaging::StoredMessage> more;
  for (int i = 1; i <= 5; ++i) more.push_back(slack_message("later " + std::to_string(i)));
  route(ns, warm);
  ASSERT_TRUE(wait_rows(1));
  // Freeze the agent so that its next turn stays busy while five more messages arrive.
  auto running = runtime_->list({});
  ASSERT_TRUE(running.ok());
  ASSERT_EQ(running->size(), 1u);
  ASSERT_TRUE(runtime_->kill(running->front().id, SIGSTOP).ok());
  auto& pending = metrics_.gauge("squadbox_namespace_pending_messages", "", {{"namespace", "alpha"}});
  route(ns, first);
  for (const auto& m : more) route(ns, m);
  ASSERT_TRUE(sb::test::wait_until([&] { return pending.value() == 5; }, 20s)) << pending.value();
  ASSERT_TRUE(runtime_->kill(running->front().id, SIGCONT).ok());
  ASSERT_TRUE(wait_rows(3));
  ASSERT_FALSE(sb::test::wait_until([&] { return outbox_rows().size() > 3; }, 500ms));
  auto rows = outbox_rows();
  rows.erase(rows.begin());  // the warm-up
  ASSERT_EQ(rows.size(), 2u) << rows.back().text;
  EXPECT_NE(rows[0].text.find("first one"), std::string::npos);
  EXPECT_EQ(rows[0].text.find("later 1"), std::string::npos);
  size_t at = 0;
  for (int i = 1; i <= 5; ++i) {  // one turn, oldest first
    auto pos = rows[1].text.find("later " + std::to_string(i));
    ASSERT_NE(pos, std::string::npos) << rows[1].text;
    EXPECT_GT(pos, at);
    at = pos;
  }
  EXPECT_EQ(rows[1].key, ns.id + ":" + std::to_string(more.back().id) + ":0:0");
  ASSERT_TRUE(sb::test::wait_until(
      [&] { return scalar("SELECT count(*) FROM inbound_messages WHERE state = 'done'") == 7; }, 20s));
}

TEST_F(NamespaceRun, ReplayAfterRestartDeliversOnlyWhatNoTurnFinished) {
  auto ns = make_namespace("alpha", {"slack:C1"});
  start_manager(services());
  auto m1 = slack_message("before restart");
  route(ns, m1);
  ASSERT_TRUE(wait_rows(1));
  ASSERT_TRUE(sb::test::wait_until(
      [&] {
        return text_of("SELECT last_inbound_id FROM namespace_cursors WHERE namespace_id = '" + ns.id + "'") ==
               std::to_string(m1.id);
      },
      20s));
  route(ns, m1);  // a duplicate to the same actor: refused
  stop_manager();
  // A new manager (a broker restart): the router replays what it has; m1 is behind the cursor.
  start_manager(services());
  auto m2 = slack_message("after restart");
  route(ns, m1);
  route(ns, m2);
  ASSERT_TRUE(wait_rows(2));
  ASSERT_FALSE(sb::test::wait_until([&] { return outbox_rows().size() > 2; }, 1500ms));
  auto rows = outbox_rows();
  EXPECT_NE(rows[0].text.find("before restart"), std::string::npos);
  EXPECT_NE(rows[1].text.find("after restart"), std::string::npos);
  EXPECT_EQ(rows[1].text.find("before restart"), std::string::npos);
}

TEST_F(NamespaceRun, CrashedContainerIsRestartedAndTheChatIsTold) {
  auto ns = make_namespace("alpha", {"slack:C1"});
  start_manager(services());
  route(ns, slack_message("hello"));
  ASSERT_TRUE(wait_rows(1));
  auto running = runtime_->list({});
  ASSERT_TRUE(running.ok());
  ASSERT_EQ(running->size(), 1u);
  ASSERT_TRUE(runtime_->kill(running->front().id, SIGKILL).ok());
  ASSERT_TRUE(wait_rows(2, 20s));
  EXPECT_EQ(outbox_rows()[1].text, "[squadbox] agent container restarting after a crash (attempt 2)");
  EXPECT_EQ(outbox_rows()[1].chat_jid, "slack:C1");
  // The restarted container answers the next message.
  route(ns, slack_message("still there?"));
  ASSERT_TRUE(wait_rows(3, 30s));
  EXPECT_NE(outbox_rows()[2].text.find("still there?"), std::string::npos) << outbox_rows()[2].text;
}

TEST_F(NamespaceRun, LocalChatReplyLandsInTheHub) {
  auto ns = make_namespace("alpha", {});
  start_manager(services());
  sb::messaging::StoredMessage m;
  m.channel = "local";
  m.bot = "api";
  m.chat_jid = "local:alpha";
  m.sender_id = "operator";
  m.text = "ping from the terminal";
  m = store_inbound(m);
  route(ns, m);
  auto reply = hub_->wait("local:alpha", m.id, 60s);
  ASSERT_TRUE(reply.has_value());
  EXPECT_TRUE(reply->error.empty()) << reply->error;
  ASSERT_EQ(reply->texts.size(), 1u);
  EXPECT_NE(reply->texts[0].find("ping from the terminal"), std::string::npos);
  EXPECT_TRUE(outbox_rows().empty());
}

TEST_F(NamespaceRun, LimitOneRunsTheSecondNamespaceAfterTheFirstContainerExits) {
  config_.namespaces.max_concurrent_containers = 1;
  sb::namespaces::ContainerConfig quick;
  quick.idle_timeout_secs = 1;  // the first container leaves soon after its turn
  auto a = make_namespace("alpha", {"slack:C1"}, quick);
  auto b = make_namespace("beta", {"slack:C2"}, quick);
  start_manager(services());
  route(a, slack_message("for alpha", "slack:C1"));
  ASSERT_TRUE(
      sb::test::wait_until([&] { return manager_status().detail.find("running 1/1") != std::string::npos; }, 20s));
  route(b, slack_message("for beta", "slack:C2"));
  ASSERT_TRUE(sb::test::wait_until([&] { return manager_status().detail.find("waiting 1") != std::string::npos; }, 20s))
      << manager_status().detail;
  ASSERT_TRUE(wait_rows(2));
  auto rows = outbox_rows();
  EXPECT_EQ(rows[0].chat_jid, "slack:C1");
  EXPECT_EQ(rows[1].chat_jid, "slack:C2");
  // beta's container started only after alpha's had ended.
  ASSERT_TRUE(sb::test::wait_until(
      [&] {
        return scalar("SELECT count(*) FROM container_runs WHERE namespace_id = 'alpha' AND ended_at IS NOT NULL") == 1;
      },
      20s));
  EXPECT_GE(scalar("SELECT started_at FROM container_runs WHERE namespace_id = 'beta'"),
            scalar("SELECT ended_at FROM container_runs WHERE namespace_id = 'alpha'"));
}

TEST_F(NamespaceRun, ContainerThatCannotStartIsReportedOnceAndRetried) {
  sb::namespaces::ContainerConfig broken;
  broken.image = "no-such-image:latest";
  auto ns = make_namespace("alpha", {"slack:C1"}, broken);
  start_manager(services());
  auto m = slack_message("anyone there?");
  route(ns, m);
  ASSERT_TRUE(wait_rows(1));
  auto rows = outbox_rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].chat_jid, "slack:C1");
  EXPECT_EQ(rows[0].text.rfind("[squadbox] agent container is down: ", 0), 0u) << rows[0].text;
  EXPECT_NE(rows[0].text.find("retrying in 0.3 s"), std::string::npos) << rows[0].text;
  EXPECT_EQ(rows[0].key, "");  // lifecycle lines are never deduplicated
  // Tried again later (not in a hot loop: the second delay doubles), the message kept.
  ASSERT_TRUE(sb::test::wait_until([&] { return scalar("SELECT count(*) FROM container_runs") >= 2; }, 20s));
  ASSERT_TRUE(wait_rows(2, 20s));
  EXPECT_NE(outbox_rows()[1].text.find("retrying in 0.6 s"), std::string::npos) << outbox_rows()[1].text;
  EXPECT_EQ(text_of("SELECT state FROM inbound_messages WHERE id = " + std::to_string(m.id)), "received");
}

// A Telegram chat: the real sender delivers to a fake Bot API on loopback, which sees the
// typing indicator for the turn and then the reply.
class NamespaceTyping : public NamespaceRun {
 protected:
  void SetUp() override {
    api_.set_handler([](const sb::test::RecordedRequest&) {
      return sb::test::UpstreamReply::json(200, R"({"ok":true,"result":{"message_id":77}})");
    });
    telegram_base_url_ = api_.url();
    NamespaceRun::SetUp();
    for (const auto& bot : bots_) {
      if (bot->id() != "telegram/tgbot") continue;
      sb::actors::ChannelSenderOptions o;
      o.bot = bot;
      o.db_path = config_.storage_path();
      sender_ = sb::actors::spawn_channel_sender(system_, o);
    }
  }
  void TearDown() override {
    if (sender_) caf::anon_send_exit(sender_, caf::exit_reason::user_shutdown);
    NamespaceRun::TearDown();
  }
  sb::test::FakeUpstream api_;
  sb::actors::channel_sender_actor sender_;
};

TEST_F(NamespaceTyping, TurnShowsTypingThenTheReplyIsDelivered) {
  auto ns = make_namespace("alpha", {"tg:-100123"});
  start_manager(services());
  sb::messaging::StoredMessage m;
  m.channel = "telegram";
  m.bot = "tgbot";
  m.chat_jid = "tg:-100123";
  m.sender_id = "42";
  m.sender_name = "Bob";
  m.text = "are you typing?";
  m.message_ref = "555";
  m.is_group = true;
  m = store_inbound(m);
  route(ns, m);
  ASSERT_TRUE(api_.wait_for_requests(2, 60s));
  auto seen = api_.requests();
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/bot7654321:AAHtesttoken_abcdefghijklmnopqrstuv/sendChatAction");
  EXPECT_EQ(seen[0].body, R"({"chat_id":-100123,"action":"typing"})");
  const auto& reply = seen.back();
  EXPECT_EQ(reply.target, "/bot7654321:AAHtesttoken_abcdefghijklmnopqrstuv/sendMessage");
  EXPECT_NE(reply.body.find("are you typing?"), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find(R"("message_id":555)"), std::string::npos) << reply.body;  // quotes it in a group
  ASSERT_TRUE(
      sb::test::wait_until([&] { return scalar("SELECT count(*) FROM outbox WHERE state = 'sent'") == 1; }, 20s));
}

// -- pure reply rules -------------------------------------------------------------------

sb::routing::RoutingTable table() {
  sb::routing::RoutingRows rows;
  rows.namespaces = {{"id-main", "boss", true, "", true}, {"id-b", "team", false, "", true}};
  rows.mappings = {{"slack:C1", "id-main"}, {"slack:C2", "id-b"}};
  auto t = sb::routing::RoutingTable::build(rows, "Andy");
  EXPECT_TRUE(t.ok());
  return *t;
}

TEST(NamespaceReply, MainMayAddressAForeignChatOthersMayNot) {
  auto t = table();
  using A = sb::namespaces::ReplyPlan::Action;
  EXPECT_EQ(sb::namespaces::plan_reply(t, "id-main", "slack:C1", "hi", "tg:99").action, A::platform);
  auto denied = sb::namespaces::plan_reply(t, "id-b", "slack:C2", "hi", "slack:C1");
  EXPECT_EQ(denied.action, A::denied);
  EXPECT_EQ(denied.reason, "foreign_chat");
  EXPECT_EQ(sb::namespaces::plan_reply(t, "id-b", "slack:C2", "hi", "local:team").action, A::local);
  EXPECT_EQ(sb::namespaces::plan_reply(t, "id-b", "slack:C2", "hi", "local:boss").action, A::denied);
  // The turn's own chat is always allowed, even unmapped (default policy routing).
  EXPECT_EQ(sb::namespaces::plan_reply(t, "id-b", "slack:C9", "hi", "").action, A::platform);
  EXPECT_EQ(sb::namespaces::plan_reply(t, "id-b", "slack:C2", "hi", "not a jid").action, A::denied);
}

TEST(NamespaceReply, InternalSpansAreRemovedAndEmptyRepliesDropped) {
  auto t = table();
  auto p = sb::namespaces::plan_reply(t, "id-b", "slack:C2", "<internal>plan: be nice</internal>Hello there", "");
  EXPECT_EQ(p.action, sb::namespaces::ReplyPlan::Action::platform);
  EXPECT_EQ(p.text, "Hello there");
  EXPECT_EQ(sb::namespaces::plan_reply(t, "id-b", "slack:C2", "<internal>only notes", "").action,
            sb::namespaces::ReplyPlan::Action::drop_empty);
}

TEST(NamespaceReply, BotReplyToKeysAndLines) {
  sb::config::Config cfg;
  for (auto [platform, name] : {std::pair{"slack", "a"}, std::pair{"slack", "b"}, std::pair{"telegram", "t"}}) {
    sb::config::ChannelBotConfig c;
    c.platform = platform;
    c.name = name;
    if (std::string(platform) == "slack") {
      c.secrets = {{"signing_secret", "s"}, {"bot_token", "slack-token"}};
      c.settings = {{"bot_user_id", "U1"}};
    } else {
      c.secrets = {{"secret_token", "tg-secret"}, {"bot_token", "tg-token"}};
      c.settings = {{"username", "B"}};
    }
    cfg.channels.push_back(c);
  }
  auto bots = sb::channels::make_bots(cfg, [](const std::string& name) -> sb::Result<sb::Secret> {
    if (name == "tg-token") return sb::Secret("7654321:AAHtesttoken_abcdefghijklmnopqrstuv");
    if (name == "tg-secret") return sb::Secret("tg_Secret-token_42");
    return sb::Secret("xoxb-test");
  });
  ASSERT_TRUE(bots.ok()) << bots.error().message;
  const auto choices = sb::actors::bot_choices(*bots);
  EXPECT_EQ(sb::namespaces::choose_bot("slack:C1", "slack/b", choices).value_or(""), "slack/b");
  EXPECT_EQ(sb::namespaces::choose_bot("slack:C1", "", choices).value_or(""), "slack/a");
  EXPECT_EQ(sb::namespaces::choose_bot("tg:5", "slack/b", choices).value_or(""), "telegram/t");
  EXPECT_FALSE(sb::namespaces::choose_bot("wa:123", "", choices).has_value());
  EXPECT_FALSE(sb::namespaces::choose_bot("garbage", "", choices).has_value());

  sb::messaging::StoredMessage m;
  m.channel = "discord";
  m.reply_ref = "interaction-token";
  m.message_ref = "111";
  EXPECT_EQ(sb::namespaces::reply_to_for(m), "interaction-token");
  m.channel = "telegram";
  EXPECT_EQ(sb::namespaces::reply_to_for(m), "");  // a DM needs no quote
  m.is_group = true;
  EXPECT_EQ(sb::namespaces::reply_to_for(m), "111");
  m.channel = "slack";
  m.reply_ref = "";
  EXPECT_EQ(sb::namespaces::reply_to_for(m), "");  // not in a thread

  EXPECT_EQ(sb::namespaces::reply_idempotency_key("ns", 42, 3), "ns:42:3");
  EXPECT_EQ(sb::namespaces::restarting_line(2), "[squadbox] agent container restarting after a crash (attempt 2)");
  EXPECT_EQ(sb::namespaces::down_line("image not found", 2000ms),
            "[squadbox] agent container is down: image not found; retrying in 2 s");
  EXPECT_EQ(sb::namespaces::down_idle_line("exit code 1"),
            "[squadbox] agent container is down: exit code 1; the next message starts a new one");
  EXPECT_EQ(sb::namespaces::format_seconds(1500ms), "1.5 s");
  EXPECT_EQ(sb::namespaces::start_retry_delay(2000ms, 1), 2000ms);
  EXPECT_EQ(sb::namespaces::start_retry_delay(2000ms, 3), 8000ms);
  EXPECT_EQ(sb::namespaces::start_retry_delay(2000ms, 40), std::chrono::milliseconds(300000));
}

TEST(NamespaceReply, TypingRequestsPerPlatform) {
  sb::config::Config cfg;
  auto add = [&](std::string platform, std::string name, std::map<std::string, std::string> secrets,
                 std::map<std::string, std::string> settings) {
    sb::config::ChannelBotConfig c;
    c.platform = std::move(platform);
    c.name = std::move(name);
    c.secrets = std::move(secrets);
    c.settings = std::move(settings);
    cfg.channels.push_back(c);
  };
  add("discord", "withtoken", {{"bot_token", "dc-token"}},
      {{"public_key", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"}, {"application_id", "1"}});
  add("discord", "notoken", {},
      {{"public_key", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"}, {"application_id", "1"}});
  add("slack", "s", {{"signing_secret", "x"}, {"bot_token", "x"}}, {{"bot_user_id", "U1"}});
  add("whatsapp", "w", {{"app_secret", "x"}, {"verify_token", "x"}, {"access_token", "x"}},
      {{"phone_number_id", "1065"}});
  auto bots = sb::channels::make_bots(cfg, [](const std::string& name) -> sb::Result<sb::Secret> {
    return sb::Secret(name == "dc-token" ? "Bot.Token" : "value");
  });
  ASSERT_TRUE(bots.ok()) << bots.error().message;
  std::map<std::string, std::shared_ptr<const sb::channels::ChannelBot>> by_id;
  for (const auto& b : *bots) by_id[b->id()] = b;
  auto dc = by_id.at("discord/withtoken")->build_typing("123456789012345678", "");
  ASSERT_TRUE(dc.ok());
  EXPECT_EQ(dc->path, "/api/v10/channels/123456789012345678/typing");
  EXPECT_EQ(by_id.at("discord/withtoken")->build_typing("../x", "").error().code, "channel.bad_value");
  EXPECT_EQ(by_id.at("discord/notoken")->build_typing("1", "").error().code, "channel.no_credential");
  EXPECT_EQ(by_id.at("slack/s")->build_typing("C1", "").error().code, "channel.no_typing");
  auto wa = by_id.at("whatsapp/w")->build_typing("4915", "wamid.ABC");
  ASSERT_TRUE(wa.ok());
  EXPECT_EQ(wa->path, "/v21.0/1065/messages");
  EXPECT_EQ(
      wa->body,
      R"({"messaging_product":"whatsapp","status":"read","message_id":"wamid.ABC","typing_indicator":{"type":"text"}})");
  EXPECT_EQ(by_id.at("whatsapp/w")->build_typing("4915", "").error().code, "channel.bad_value");
  EXPECT_EQ(by_id.at("whatsapp/w")->build_typing("4915", "a\"b").error().code, "channel.bad_value");
}

}  // namespace
