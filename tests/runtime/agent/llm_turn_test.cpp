// build/bin/squadbox-agent in llm mode as a plain process, against a fake Messages
// API on a unix socket standing in for the credential proxy: the contract's headers,
// the model, history per chat across turns, and failures that neither crash the agent
// nor end up in the history.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/ipc/ipc_directory.hpp"
#include "runtime/ipc/ipc_watcher.hpp"
#include "tests/runtime/agent/unix_server.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace sb::ipc;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Env = std::map<std::string, std::string>;

constexpr const char* kToken = "sbp_test_placeholder_0123456789";
constexpr const char* kHang = "<hang>";

std::string json_response(int status, const std::string& body, bool chunked = false, const std::string& extra = "") {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " X\r\ncontent-type: application/json\r\n" + extra;
  if (!chunked) return head + "content-length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  // Two chunks, split mid-body, as a streaming server would.
  std::string a = body.substr(0, body.size() / 2), b = body.substr(body.size() / 2);
  auto hex = [](size_t n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%zx", n);
    return std::string(buf);
  };
  return head + "transfer-encoding: chunked\r\n\r\n" + hex(a.size()) + "\r\n" + a + "\r\n" + hex(b.size()) + "\r\n" +
         b + "\r\n0\r\n\r\n";
}

std::string message_json(const std::string& text) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("id"), w.String("msg_1"), w.Key("type"), w.String("message"), w.Key("role"), w.String("assistant");
  w.Key("content"), w.StartArray();
  w.StartObject(), w.Key("type"), w.String("text"), w.Key("text"), w.String(text.c_str()), w.EndObject();
  w.EndArray();
  w.Key("stop_reason"), w.String("end_turn");
  w.EndObject();
  return sb.GetString();
}

std::string error_json(const std::string& type, const std::string& message) {
  return R"({"error":{"type":")" + type + R"(","message":")" + message + R"("}})";
}

struct Turn {
  std::string role, content;
};

// The fake Messages endpoint: checks the contract's headers itself (answering 401/400
// like the real proxy would), records every request and answers with `respond`.
struct FakeMessages {
  using Respond = std::function<std::string(const sb::test::SeenRequest&, size_t index)>;

  FakeMessages(const std::string& path, Respond r)
      : respond(std::move(r)), server(path, [this](int fd) { handle(fd); }) {}

  void handle(int fd) {
    auto req = sb::test::read_http_request(fd);
    if (!req) return;
    size_t index;
    {
      std::lock_guard<std::mutex> lk(mu);
      index = requests.size();
      requests.push_back(*req);
    }
    std::string out;
    // The Anthropic contract's headers; an OpenAI-protocol test checks its own.
    const bool anthropic = req->target.find("/chat/completions") == std::string::npos;
    if (anthropic && req->headers["x-api-key"] != kToken)
      out = json_response(401, error_json("authentication_error", "unknown placeholder token"));
    else if (anthropic &&
             (req->headers["anthropic-version"] != "2023-06-01" || req->headers["content-type"] != "application/json"))
      out = json_response(400, error_json("invalid_request_error", "missing anthropic headers"));
    else
      out = respond(*req, index);
    if (out == kHang) {
      sb::test::read_to_eof(fd);  // until the agent gives up (or the server stops)
      return;
    }
    sb::test::write_all(fd, out);
  }

  std::vector<sb::test::SeenRequest> seen() {
    std::lock_guard<std::mutex> lk(mu);
    return requests;
  }

  std::mutex mu;
  std::vector<sb::test::SeenRequest> requests;
  Respond respond;
  sb::test::UnixServer server;
};

std::vector<Turn> messages_of(const sb::test::SeenRequest& r) {
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  std::vector<Turn> out;
  if (d.HasParseError() || !d.HasMember("messages")) return out;
  for (const auto& m : d["messages"].GetArray()) {
    // Text, or content blocks (the text blocks' text; tool blocks as "[type]").
    std::string text;
    if (m["content"].IsString()) {
      text = m["content"].GetString();
    } else if (m["content"].IsArray()) {
      for (const auto& b : m["content"].GetArray())
        text += b.HasMember("text") ? b["text"].GetString() : "[" + std::string(b["type"].GetString()) + "]";
    }
    out.push_back({m["role"].GetString(), text});
  }
  return out;
}

// Replies "reply to <last user content>".
std::string echo_reply(const sb::test::SeenRequest& r, bool chunked = false) {
  auto msgs = messages_of(r);
  return json_response(200, message_json("reply to " + (msgs.empty() ? "?" : msgs.back().content)), chunked);
}

struct LlmAgent {
  explicit LlmAgent(FakeMessages::Respond respond, Env extra = {}) {
    fake = std::make_unique<FakeMessages>(tmp.path() + "/proxy.sock", std::move(respond));
    Env env{{"SQUADBOX_IPC_DIR", dir.root()},
            {"SQUADBOX_AGENT_MODE", "llm"},
            {"SQUADBOX_PROXY_SOCKET", tmp.path() + "/proxy.sock"},
            {"SQUADBOX_PROXY_TOKEN", kToken},
            {"SQUADBOX_LLM_MODEL", "claude-test-model"},
            {"SQUADBOX_LLM_MAX_TOKENS", "321"},
            {"SQUADBOX_SESSION_DIR", session()}};
    for (auto& [k, v] : extra) env[k] = v;
    child = std::make_unique<sb::test::ChildProcess>(sb::test::bin_dir() + "/squadbox-agent",
                                                     std::vector<std::string>{}, env, tmp.path() + "/agent");
  }
  ~LlmAgent() {
    if (child) {
      (void)dir.close();
      child->wait(10s);
    }
    fake->server.stop();
  }

  std::string session() const { return tmp.path() + "/session"; }

  // Writes one input and waits for its turn_done; returns (reply text or "", turn_done).
  std::pair<std::string, TurnDone> turn(const std::string& text, std::optional<std::string> jid) {
    auto id = dir.write_input(text, std::move(jid));
    EXPECT_TRUE(id.ok());
    std::string reply;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      for (auto& d : watcher.wait_for(1s)) {
        if (auto* m = std::get_if<OutboundMessage>(&d.payload)) {
          EXPECT_EQ(m->in_reply_to, *id);
          reply = m->text;
        }
        if (auto* t = std::get_if<TurnDone>(&d.payload)) {
          EXPECT_EQ(t->in_reply_to, *id);
          return {reply, *t};
        }
      }
    }
    ADD_FAILURE() << "no turn_done for " << text << "\n" << log();
    return {};
  }
  std::string log() const { return child->stderr_text(); }

  sb::test::TempDir tmp{"squadbox-llm"};
  IpcDirectory dir = IpcDirectory::create(tmp.path() + "/ipc", {std::nullopt, std::nullopt}).value();
  IpcWatcher watcher = IpcWatcher::open(dir.root()).value();
  std::unique_ptr<FakeMessages> fake;
  std::unique_ptr<sb::test::ChildProcess> child;
};

TEST(AgentLlm, SendsTheContractAndKeepsHistoryPerChat) {
  // The second request is answered chunked, as a streaming-capable server might.
  LlmAgent a([](const sb::test::SeenRequest& r, size_t i) { return echo_reply(r, i == 1); });

  auto [r1, d1] = a.turn("first question", "tg:42");
  EXPECT_TRUE(d1.ok) << d1.error << a.log();
  EXPECT_EQ(r1, "reply to first question");
  auto [r2, d2] = a.turn("second question", "tg:42");
  EXPECT_TRUE(d2.ok) << d2.error << a.log();
  EXPECT_EQ(r2, "reply to second question");
  auto [r3, d3] = a.turn("other chat", "slack:C01");
  EXPECT_TRUE(d3.ok) << d3.error;
  auto [r4, d4] = a.turn("no jid at all", std::nullopt);
  EXPECT_TRUE(d4.ok) << d4.error;

  auto seen = a.fake->seen();
  ASSERT_EQ(seen.size(), 4u);
  for (const auto& r : seen) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/anthropic/v1/messages");
    EXPECT_EQ(r.headers.at("x-api-key"), kToken);
    EXPECT_EQ(r.headers.at("anthropic-version"), "2023-06-01");
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    ASSERT_FALSE(d.HasParseError()) << r.body;
    EXPECT_STREQ(d["model"].GetString(), "claude-test-model");
    EXPECT_EQ(d["max_tokens"].GetInt(), 321);
    EXPECT_NE(std::string(d["system"].GetString()).find("## Environment"), std::string::npos);
    EXPECT_EQ(d["tools"].Size(), 11u);  // all tools by default
  }
  auto m2 = messages_of(seen[1]);
  ASSERT_EQ(m2.size(), 3u);
  EXPECT_EQ(m2[0].role, "user");
  EXPECT_EQ(m2[0].content, "first question");
  EXPECT_EQ(m2[1].role, "assistant");
  EXPECT_EQ(m2[1].content, "reply to first question");
  EXPECT_EQ(m2[2].content, "second question");
  // Other chats do not see tg:42's conversation.
  ASSERT_EQ(messages_of(seen[2]).size(), 1u);
  EXPECT_EQ(messages_of(seen[2])[0].content, "other chat");
  ASSERT_EQ(messages_of(seen[3]).size(), 1u);

  // One file per chat in <session>/history, written atomically (no tmp left).
  std::set<std::string> files;
  for (auto& e : fs::directory_iterator(a.session() + "/history")) files.insert(e.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"tg%3A42.json", "slack%3AC01.json", "default.json"}));
  EXPECT_NE(sb::test::read_file(a.session() + "/history/tg%3A42.json").find("reply to second question"),
            std::string::npos);
}

TEST(AgentLlm, HistorySurvivesARestartOfTheAgent) {
  sb::test::TempDir session("squadbox-llm-session");
  {
    LlmAgent a([](const sb::test::SeenRequest& r, size_t) { return echo_reply(r); },
               {{"SQUADBOX_SESSION_DIR", session.path()}});
    EXPECT_TRUE(a.turn("remember 7", "tg:1").second.ok);
  }
  LlmAgent b([](const sb::test::SeenRequest& r, size_t) { return echo_reply(r); },
             {{"SQUADBOX_SESSION_DIR", session.path()}});
  EXPECT_TRUE(b.turn("what number?", "tg:1").second.ok);
  auto m = messages_of(b.fake->seen().at(0));
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].content, "remember 7");
}

TEST(AgentLlm, SystemFileIsSent) {
  sb::test::TempDir files("squadbox-llm-sys");
  std::string sys = files.file("CLAUDE.md");
  { std::ofstream(sys) << "You are the squad's helper.\n"; }
  LlmAgent a([](const sb::test::SeenRequest& r, size_t) { return echo_reply(r); },
             {{"SQUADBOX_LLM_SYSTEM_FILE", sys}, {"SQUADBOX_LLM_ROUTE", "claude2"}});
  EXPECT_TRUE(a.turn("hi", std::nullopt).second.ok);
  auto seen = a.fake->seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/claude2/v1/messages");
  rapidjson::Document d;
  d.Parse(seen[0].body.c_str());
  // The instructions first, then the memory and the environment.
  EXPECT_EQ(std::string(d["system"].GetString()).rfind("You are the squad's helper.\n", 0), 0u);

  fs::remove(sys);  // now unreadable: the turn fails clearly, nothing is sent
  auto [reply, done] = a.turn("again", std::nullopt);
  EXPECT_FALSE(done.ok);
  EXPECT_NE(done.error.find("SQUADBOX_LLM_INSTRUCTIONS_FILE"), std::string::npos) << done.error;
  EXPECT_EQ(a.fake->seen().size(), 1u);
}

TEST(AgentLlm, UpstreamFailuresFailTheTurnAndLeaveHistoryClean) {
  // Request 0 succeeds; 1-4 fail at once (not retried) in different ways; 5 succeeds
  // and must only carry the history of request 0.
  LlmAgent a([](const sb::test::SeenRequest& r, size_t i) -> std::string {
    switch (i) {
      case 1: return json_response(403, error_json("forbidden", "route not allowed for this namespace"));
      case 2: return json_response(200, R"({"type":"error","error":{"type":"overloaded_error","message":"busy"}})");
      case 3: return json_response(200, "{not json");
      case 4: return "garbage that is not HTTP\r\n\r\n";
      default: return echo_reply(r);
    }
  });
  EXPECT_TRUE(a.turn("q0", "tg:5").second.ok);
  const char* expect[] = {"[squadbox] the model request failed: HTTP 403 forbidden: route not allowed",
                          "overloaded_error: busy", "not a JSON object", "not an HTTP/1.x status line"};
  for (const char* e : expect) {
    auto [reply, done] = a.turn("failing", "tg:5");
    EXPECT_FALSE(done.ok) << e;
    EXPECT_TRUE(reply.empty()) << reply;
    EXPECT_NE(done.error.find(e), std::string::npos) << "want '" << e << "' in: " << done.error;
  }
  auto [reply, done] = a.turn("q5", "tg:5");
  EXPECT_TRUE(done.ok) << done.error;
  EXPECT_EQ(reply, "reply to q5");
  ASSERT_EQ(a.fake->seen().size(), 6u);
  auto m = messages_of(a.fake->seen().at(5));
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].content, "q0");
  EXPECT_EQ(m[1].content, "reply to q0");
  EXPECT_EQ(m[2].content, "q5");
  EXPECT_EQ(a.child->wait(0ms), std::nullopt) << "the agent must still be running";
}

TEST(AgentLlm, OverloadedAndCutOffResponsesAreRetried) {
  // retry-after: 0 keeps the test fast; the backoff itself is the loop's (agent_loop_test).
  LlmAgent a([](const sb::test::SeenRequest& r, size_t i) -> std::string {
    if (i == 0) return json_response(529, error_json("overloaded_error", "busy"), false, "retry-after: 0\r\n");
    if (i == 1) return "HTTP/1.1 200 OK\r\ncontent-length: 500\r\n\r\n{\"content\":";  // then EOF
    return echo_reply(r);
  });
  auto [reply, done] = a.turn("q", "tg:6");
  EXPECT_TRUE(done.ok) << done.error << a.log();
  EXPECT_EQ(reply, "reply to q");
  EXPECT_EQ(a.fake->seen().size(), 3u);
  EXPECT_NE(a.log().find("event=agent.llm_retry"), std::string::npos);
}

TEST(AgentLlm, ToolUseTurnRunsTheToolsAndOnlyTheFinalAnswerIsSent) {
  sb::test::TempDir ws("squadbox-llm-ws");
  LlmAgent a(
      [](const sb::test::SeenRequest& r, size_t i) -> std::string {
        if (i == 0)
          return json_response(200, R"({"content":[{"type":"text","text":"thinking aloud"},
            {"type":"tool_use","id":"toolu_1","name":"write_file","input":{"path":"out.txt","content":"made by a tool"}},
            {"type":"tool_use","id":"toolu_2","name":"bash","input":{"command":"cat out.txt 2>&1; echo"}}],
            "stop_reason":"tool_use"})");
        auto msgs = messages_of(r);
        return json_response(200, message_json("done after " + std::to_string(msgs.size()) + " messages"));
      },
      {{"SQUADBOX_WORKSPACE", ws.path()}, {"SQUADBOX_AGENT_TOOLS", "write_file,bash"}});
  auto [reply, done] = a.turn("make a file", "tg:7");
  EXPECT_TRUE(done.ok) << done.error << a.log();
  EXPECT_EQ(reply, "done after 3 messages");  // not "thinking aloud"
  EXPECT_EQ(sb::test::read_file(ws.path() + "/out.txt"), "made by a tool");
  auto seen = a.fake->seen();
  ASSERT_EQ(seen.size(), 2u);
  rapidjson::Document d;
  d.Parse(seen[1].body.c_str());
  EXPECT_EQ(d["tools"].Size(), 2u);
  const auto& results = d["messages"][2]["content"];
  ASSERT_EQ(results.Size(), 2u);
  EXPECT_STREQ(results[0]["tool_use_id"].GetString(), "toolu_1");
  EXPECT_STREQ(results[1]["tool_use_id"].GetString(), "toolu_2");
  EXPECT_STREQ(results[1]["content"].GetString(), "made by a tool\n[exit code 0]");
  EXPECT_NE(a.log().find("event=agent.tool name=bash status=ok"), std::string::npos) << a.log();
  // The whole turn (4 messages) is kept; the next turn carries it.
  EXPECT_TRUE(a.turn("again", "tg:7").second.ok);
  EXPECT_EQ(messages_of(a.fake->seen().at(2)).size(), 5u);
}

TEST(AgentLlm, OpenAiProtocolTurn) {
  LlmAgent a(
      [](const sb::test::SeenRequest& r, size_t) -> std::string {
        if (r.target != "/local/v1/chat/completions" || r.headers.count("authorization") == 0 ||
            r.headers.at("authorization") != std::string("Bearer ") + kToken)
          return json_response(404, R"({"error":"wrong endpoint"})");
        return json_response(
            200, R"({"choices":[{"finish_reason":"stop","message":{"role":"assistant","content":"hi from openai"}}]})");
      },
      {{"SQUADBOX_LLM_PROTOCOL", "openai"}, {"SQUADBOX_LLM_ROUTE", "local"}});
  auto [reply, done] = a.turn("hello", std::nullopt);
  EXPECT_TRUE(done.ok) << done.error;
  EXPECT_EQ(reply, "hi from openai");
  EXPECT_NE(sb::test::read_file(a.session() + "/history/default.json").find(R"("protocol":"openai")"),
            std::string::npos);
}

TEST(AgentLlm, TimeoutFailsTheTurnAndTheAgentCarriesOn) {
  LlmAgent a([](const sb::test::SeenRequest& r, size_t i) -> std::string { return i == 0 ? kHang : echo_reply(r); },
             {{"SQUADBOX_LLM_TIMEOUT_MS", "300"}});
  auto [r1, d1] = a.turn("slow", std::nullopt);
  EXPECT_FALSE(d1.ok);
  EXPECT_NE(d1.error.find("no complete response within 300 ms"), std::string::npos) << d1.error;
  auto [r2, d2] = a.turn("fast", std::nullopt);
  EXPECT_TRUE(d2.ok) << d2.error;
  EXPECT_EQ(messages_of(a.fake->seen().at(1)).size(), 1u);  // the timed-out turn left no trace
}

TEST(AgentLlm, WrongTokenIsTheProxysError) {
  LlmAgent a([](const sb::test::SeenRequest& r, size_t) { return echo_reply(r); },
             {{"SQUADBOX_PROXY_TOKEN", "sbp_revoked"}});
  auto [reply, done] = a.turn("hi", std::nullopt);
  EXPECT_FALSE(done.ok);
  EXPECT_NE(done.error.find("HTTP 401 authentication_error"), std::string::npos) << done.error;
}

TEST(AgentLlm, MissingProxySocketFailsTheTurnClearly) {
  LlmAgent a([](const sb::test::SeenRequest& r, size_t) { return echo_reply(r); },
             {{"SQUADBOX_PROXY_SOCKET", "/nonexistent/proxy.sock"}});
  auto [reply, done] = a.turn("hi", std::nullopt);
  EXPECT_FALSE(done.ok);
  EXPECT_NE(done.error.find("credential proxy: connect /nonexistent/proxy.sock"), std::string::npos) << done.error;
}

TEST(AgentLlm, CorruptHistoryIsSetAsideAndTheChatStartsOver) {
  LlmAgent a([](const sb::test::SeenRequest& r, size_t) { return echo_reply(r); });
  fs::create_directories(a.session() + "/history");
  { std::ofstream(a.session() + "/history/tg%3A9.json") << "{\"version\":1,\"messages\":[{\"role\":"; }
  auto [reply, done] = a.turn("hello", "tg:9");
  EXPECT_TRUE(done.ok) << done.error;
  EXPECT_EQ(messages_of(a.fake->seen().at(0)).size(), 1u);
  int corrupt = 0;
  for (auto& e : fs::directory_iterator(a.session() + "/history"))
    if (e.path().filename().string().rfind("tg%3A9.json.corrupt-", 0) == 0) ++corrupt;
  EXPECT_EQ(corrupt, 1);
  EXPECT_NE(a.log().find("event=agent.history_reset"), std::string::npos);
}

TEST(AgentLlm, UnwritableSessionDirStillDeliversTheReply) {
  LlmAgent a([](const sb::test::SeenRequest& r, size_t) { return echo_reply(r); },
             {{"SQUADBOX_SESSION_DIR", "/proc/squadbox-no-such-dir"}});
  auto [reply, done] = a.turn("hi", std::nullopt);
  EXPECT_TRUE(done.ok) << done.error;
  EXPECT_EQ(reply, "reply to hi");
  EXPECT_NE(a.log().find("event=agent.history_write_failed"), std::string::npos) << a.log();
}

TEST(AgentLlm, MissingTokenIsAConfigError) {
  sb::test::TempDir tmp("squadbox-llm-cfg");
  sb::test::ChildProcess child(sb::test::bin_dir() + "/squadbox-agent", {},
                               {{"SQUADBOX_IPC_DIR", tmp.path()},
                                {"SQUADBOX_AGENT_MODE", "llm"},
                                {"SQUADBOX_PROXY_SOCKET", tmp.path() + "/proxy.sock"}},
                               tmp.path() + "/agent");
  EXPECT_EQ(child.wait(10s), 2);
  EXPECT_NE(child.stderr_text().find("SQUADBOX_PROXY_TOKEN"), std::string::npos);
}

}  // namespace
