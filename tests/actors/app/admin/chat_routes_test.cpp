// POST /api/v1/chat/{namespace} through the real admin API on a real http::Server, with
// the real ingest, storage writer and router; a stand-in "namespaces" actor answers into
// the LocalChatHub the way the namespace actors do.
#include "actors/app/admin/chat_routes.hpp"

#include <gtest/gtest.h>

#include "actors/app/admin/admin_routes.hpp"
#include "actors/channels/channel_ingest.hpp"
#include "actors/routing/message_router.hpp"
#include "actors/storage/storage_writer.hpp"
#include "runtime/http/client.hpp"
#include "runtime/http/server.hpp"
#include "storage/namespace_store.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using namespace sb::actors;

const std::string kChatRoutesToken(64, 'c');

// Answers each routed local message: "silence" -> never; "fail" -> a failed turn;
// otherwise two replies ("echo: TEXT" and "done").
void answer(sb::channels::local::LocalChatHub& hub, const sb::messaging::StoredMessage& m) {
  if (m.text == "silence") return;
  if (m.text == "fail") return hub.finish_turn(m.chat_jid, m.id, m.id, "the container exited with 1");
  hub.add_reply(m.chat_jid, m.id, m.id, "echo: " + m.text + " from " + m.sender_name);
  hub.add_reply(m.chat_jid, m.id, m.id, "done");
  hub.finish_turn(m.chat_jid, m.id, m.id);
}

namespace_manager_actor::behavior_type answering_namespaces(namespace_manager_actor::pointer self,
                                                            std::shared_ptr<sb::channels::local::LocalChatHub> hub) {
  return {
      [hub](route_atom, const routed_message& r) { answer(*hub, r.message); },
      [hub](route_atom, const routed_batch& b) {
        for (const auto& m : b.messages) answer(*hub, m);
      },
      [](reload_atom) {},
      [](ready_atom) {},
      // The slot pool's messages between namespace actors: not part of routing.
      [](acquire_atom, const std::string&) {},
      [](acquire_atom, const std::string&, bool) {},
      [](task_atom, const scheduled_run&) {},
      [](release_atom, const std::string&) {},
      [](idle_atom, const std::string&) {},
      [](busy_atom, const std::string&) {},
      [](own_atom) {},
      [](yield_atom, const std::string&) { return true; },
      [](tick_atom) {},
      [](status_atom) {
        return component_status{"namespaces", "running", "fake"};
      },
      [self](shutdown_atom) {
        self->quit();
        return true;
      },
  };
}

class ChatApiTest : public ::testing::Test, public sb::test::ActorSystemFixture {
 protected:
  void SetUp() override {
    db_path_ = dir_.file("squadbox.db");
    auto store = sb::storage::NamespaceStore::open(db_path_, dir_.path());
    ASSERT_TRUE(store) << store.error().message;
    sb::namespaces::NamespacePatch p;
    p.name = "team";
    auto team = (*store)->create(p);
    ASSERT_TRUE(team);
    team_id_ = team->id;

    StorageWriterOptions w;
    w.path = db_path_;
    put("storage", writer_ = spawn_storage_writer(system, w));
    put("router", router_ = spawn_message_router(system, MessageRouterOptions{nullptr, db_path_, "Andy"}));
    put("namespaces", namespaces_ = system.spawn(answering_namespaces, hub_));
    put("ingest", ingest_ = spawn_ingest(system, IngestOptions{}));

    sb::app::admin::ChatApiOptions co;
    co.db_path = db_path_;
    co.reply_timeout = 700ms;  // the 504 case waits this long
    chat_ = std::make_unique<sb::app::admin::ChatApi>(system, hub_, co);

    sb::app::admin::AdminApiOptions o;
    o.version = "test";
    o.token = sb::Secret(kChatRoutesToken);
    o.extensions.push_back([this](sb::http::Router& api) { chat_->add_routes(api); });
    api_ = std::make_unique<sb::app::admin::AdminApi>(system, caf::actor{}, metrics_, std::move(o));
    server_ = std::make_unique<sb::http::Server>(sb::http::ServerOptions{}, api_->handler(), nullptr);
    auto port = server_->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    base_ = "http://127.0.0.1:" + std::to_string(*port);
  }
  void TearDown() override {
    if (server_) server_->stop();
    chat_.reset();
    for (const std::string name : {"storage", "router", "namespaces", "ingest"})
      system.registry().erase(caf::atom_from_string(name));
    for (const caf::actor& a : {caf::actor_cast<caf::actor>(ingest_), caf::actor_cast<caf::actor>(router_),
                                caf::actor_cast<caf::actor>(namespaces_), caf::actor_cast<caf::actor>(writer_)})
      if (a) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  template <class Handle>
  void put(const std::string& name, const Handle& h) {
    system.registry().put(caf::atom_from_string(name), caf::actor_cast<caf::strong_actor_ptr>(h));
  }

  sb::http::Response chat(const std::string& ns, const std::string& body, const std::string& token = kChatRoutesToken) {
    sb::http::Headers h;
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    h.emplace_back("Content-Type", "application/json");
    auto r = sb::http::request("POST", base_ + "/api/v1/chat/" + ns, h, body, 20s);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : sb::http::Response{};
  }
  int64_t scalar(const std::string& sql) {
    sb::storage::OpenOptions ro;
    ro.read_only = true;
    auto db = sb::storage::Database::open(db_path_, ro);
    auto s = db->prepare(sql);
    EXPECT_TRUE(s) << sql;
    auto row = s->step();
    return row && *row ? s->column_int64(0) : -1;
  }

  sb::test::TempDir dir_;
  std::string db_path_;
  std::string team_id_;
  sb::metrics::Registry metrics_;
  std::shared_ptr<sb::channels::local::LocalChatHub> hub_ = std::make_shared<sb::channels::local::LocalChatHub>();
  storage_writer_actor writer_;
  message_router_actor router_;
  namespace_manager_actor namespaces_;
  ingest_actor ingest_;
  std::unique_ptr<sb::app::admin::ChatApi> chat_;
  std::unique_ptr<sb::app::admin::AdminApi> api_;
  std::unique_ptr<sb::http::Server> server_;
  std::string base_;
};

TEST_F(ChatApiTest, AnswersWithTheTurnsReplies) {
  auto r = chat("team", R"({"text":"hello there"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const int64_t id = scalar("SELECT id FROM inbound_messages WHERE channel = 'local'");
  ASSERT_GT(id, 0);
  EXPECT_EQ(r.body, R"({"namespace":"team","messageId":)" + std::to_string(id) +
                        R"(,"replies":["echo: hello there from operator","done"],)"
                        R"("reply":"echo: hello there from operator\ndone"})");
  // Stored like any platform message.
  EXPECT_EQ(scalar("SELECT count(*) FROM inbound_messages WHERE bot = 'local' AND chat_jid = 'local:team' "
                   "AND sender = 'operator' AND is_group = 0 AND length(platform_message_id) = 36"),
            1);
}

TEST_F(ChatApiTest, AddressesTheNamespaceByIdTooAndTakesASenderName) {
  auto r = chat(team_id_, R"({"text":"hi","sender":"Ops Bot"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("namespace":"team")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("echo: hi from Ops Bot"), std::string::npos) << r.body;
}

TEST_F(ChatApiTest, EachMessageGetsItsOwnAnswer) {
  for (int i = 0; i < 5; ++i) {
    auto r = chat("team", R"({"text":"n)" + std::to_string(i) + R"("})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("echo: n" + std::to_string(i) + " "), std::string::npos) << r.body;
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM inbound_messages WHERE channel = 'local'"), 5);
}

TEST_F(ChatApiTest, BadBodiesAre400NamingTheField) {
  struct Case {
    std::string body;
    std::string code;
    std::string starts;
  };
  const std::vector<Case> cases = {
      {"not json", "invalid_json", "body:"},
      {"[1]", "invalid_json", "body:"},
      {"{}", "invalid_field", "text:"},
      {R"({"text":5})", "invalid_field", "text:"},
      {R"({"text":""})", "invalid_field", "text:"},
      {R"({"text":")" + std::string(32 * 1024 + 1, 'x') + R"("})", "invalid_field", "text:"},
      {R"({"text":"hi","sender":""})", "invalid_field", "sender:"},
      {R"({"text":"hi","sender":7})", "invalid_field", "sender:"},
      {R"({"text":"hi","color":"red"})", "invalid_field", "color:"},
      {"{\"text\":\"\xff\xfe\"}", "invalid_json", "body:"},
  };
  for (const auto& c : cases) {
    auto r = chat("team", c.body);
    EXPECT_EQ(r.status, 400) << c.body.substr(0, 60) << " -> " << r.body;
    EXPECT_NE(r.body.find(R"("code":")" + c.code + "\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(R"("message":")" + c.starts), std::string::npos) << r.body;
  }
  // Exactly the limit is fine.
  auto at_limit = chat("team", R"({"text":")" + std::string(32 * 1024, 'x') + R"("})");
  EXPECT_EQ(at_limit.status, 200) << at_limit.body.substr(0, 200);
  EXPECT_EQ(scalar("SELECT count(*) FROM inbound_messages"), 1) << "bad requests store nothing";
}

TEST_F(ChatApiTest, UnknownNamespaceIs404) {
  auto r = chat("nobody", R"({"text":"hi"})");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("nobody"), std::string::npos) << r.body;
  EXPECT_EQ(chat("", R"({"text":"hi"})").status, 400);
  EXPECT_EQ(scalar("SELECT count(*) FROM inbound_messages"), 0);
}

TEST_F(ChatApiTest, NoReplyInTimeIs504WithTheMessageId) {
  auto r = chat("team", R"({"text":"silence"})");
  ASSERT_EQ(r.status, 504) << r.body;
  const int64_t id = scalar("SELECT id FROM inbound_messages WHERE channel = 'local'");
  EXPECT_NE(r.body.find(R"("code":"chat.timeout")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("messageId":)" + std::to_string(id)), std::string::npos) << r.body;
  EXPECT_EQ(scalar("SELECT count(*) FROM inbound_messages WHERE state = 'received'"), 1) << "stays queued";
}

TEST_F(ChatApiTest, AFailedTurnIs502) {
  auto r = chat("team", R"({"text":"fail"})");
  ASSERT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.body.find(R"("code":"chat.turn_failed")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("exited with 1"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("messageId":)"), std::string::npos) << r.body;
}

TEST_F(ChatApiTest, WithoutTheTokenIs401) {
  EXPECT_EQ(chat("team", R"({"text":"hi"})", "").status, 401);
  EXPECT_EQ(chat("team", R"({"text":"hi"})", std::string(64, 'x')).status, 401);
  EXPECT_EQ(scalar("SELECT count(*) FROM inbound_messages"), 0);
}

TEST_F(ChatApiTest, WithoutTheIngestActorIs503) {
  system.registry().erase(caf::atom("ingest"));
  auto r = chat("team", R"({"text":"hi"})");
  EXPECT_EQ(r.status, 503) << r.body;
}

TEST_F(ChatApiTest, StoppingAnswersWaitingChats) {
  std::thread waiting([&] {
    auto r = chat("team", R"({"text":"silence"})");
    EXPECT_EQ(r.status, 503) << r.body;
  });
  // The message is stored before the chat starts waiting.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (scalar("SELECT count(*) FROM inbound_messages") < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  chat_->stop();
  waiting.join();
  EXPECT_EQ(chat("team", R"({"text":"hi"})").status, 503) << "a stopped chat API refuses";
}

// The pure parts.
TEST(ChatRequestParse, DefaultsAndFields) {
  auto r = sb::app::admin::parse_chat_request(R"({"text":"hi"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text, "hi");
  EXPECT_EQ(r->sender_name, "operator");
  EXPECT_FALSE(sb::app::admin::parse_chat_request(R"({"text":"hi","text2":1})"));
  EXPECT_FALSE(sb::app::admin::parse_chat_request(""));
  EXPECT_FALSE(sb::app::admin::parse_chat_request("null"));
}

TEST(ChatRender, EscapesAndJoins) {
  sb::channels::local::LocalTurnReply t;
  t.texts = {"a \"quoted\"", "line\nbreak"};
  EXPECT_EQ(sb::app::admin::render_chat_answer("n", 7, t),
            R"({"namespace":"n","messageId":7,"replies":["a \"quoted\"","line\nbreak"],)"
            R"("reply":"a \"quoted\"\nline\nbreak"})");
  t.texts.clear();
  EXPECT_EQ(sb::app::admin::render_chat_answer("n", 7, t),
            R"({"namespace":"n","messageId":7,"replies":[],"reply":""})");
  EXPECT_EQ(sb::app::admin::render_chat_error("chat.timeout", "late", 3),
            R"({"error":{"code":"chat.timeout","message":"late"},"messageId":3})");
}

}  // namespace
