// The turn state machine with scripted responses: the action sequence, parallel calls
// answered in order, the step limit, retries (429 then success, retry-after, give up),
// failures that end the turn at once with one short line, truncation, the turn time
// limit; and history trimming by whole turns.
#include "runtime/agent/agent_loop.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "runtime/agent/history_file.hpp"

namespace {

using namespace sb::agent;
using namespace std::chrono_literals;

const ModelProtocol& anth() {
  return model_protocol(LlmProtocol::anthropic);
}

std::string text_reply(const std::string& text) {
  return R"({"content":[{"type":"text","text":")" + text + R"("}],"stop_reason":"end_turn"})";
}

std::string tools_reply(int n, const std::string& id_prefix = "t") {
  std::string blocks;
  for (int i = 0; i < n; ++i) {
    if (i) blocks += ",";
    blocks += R"({"type":"tool_use","id":")" + id_prefix + std::to_string(i) +
              R"(","name":"bash","input":{"command":"echo )" + std::to_string(i) + R"("}})";
  }
  return R"({"content":[{"type":"text","text":"working"},)" + blocks + R"(],"stop_reason":"tool_use"})";
}

struct FakeClock {
  AgentLoop::Clock::time_point t{};
  std::function<AgentLoop::Clock::time_point()> fn() {
    return [this] { return t; };
  }
};

AgentLoop make_loop(LoopLimits limits = {}, FakeClock* clock = nullptr, std::vector<std::string> history = {}) {
  if (limits.model.empty()) limits.model = "m";
  return AgentLoop(anth(), limits, "sys", enabled_tool_definitions({"bash"}), std::move(history), "question",
                   clock ? clock->fn() : std::function<AgentLoop::Clock::time_point()>(AgentLoop::Clock::now));
}

rapidjson::Document body_of(const LoopAction& a) {
  rapidjson::Document d;
  d.Parse(std::get<loop::Send>(a).body.c_str());
  return d;
}

TEST(AgentLoop, ToolStepsThenFinalAnswer) {
  auto loop = make_loop({}, nullptr, {anth().user_message("old q"), anth().user_message("old a")});
  auto a = loop.start();
  auto first = body_of(a);
  ASSERT_EQ(first["messages"].Size(), 3u);  // history + this turn's user message
  EXPECT_STREQ(first["messages"][2]["content"].GetString(), "question");
  EXPECT_STREQ(first["system"].GetString(), "sys");

  a = loop.on_response(200, tools_reply(3));
  ASSERT_TRUE(std::holds_alternative<loop::RunTools>(a));
  const auto calls = std::get<loop::RunTools>(a).calls;  // parallel calls: all of them, in order
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[2].id, "t2");

  a = loop.on_tool_results({{"r0", false}, {"r1", true}, {"r2", false}});
  auto second = body_of(a);
  ASSERT_EQ(second["messages"].Size(), 5u);
  const auto& results = second["messages"][4]["content"];
  ASSERT_EQ(results.Size(), 3u);  // each call answered, same order, same ids
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(std::string(results[i]["tool_use_id"].GetString()), "t" + std::to_string(i));
    EXPECT_EQ(std::string(results[i]["content"].GetString()), "r" + std::to_string(i));
  }
  EXPECT_TRUE(results[1]["is_error"].GetBool());

  a = loop.on_response(200, text_reply("the answer"));
  ASSERT_TRUE(std::holds_alternative<loop::Finish>(a));
  const auto& fin = std::get<loop::Finish>(a);
  EXPECT_EQ(fin.text, "the answer");  // "working" (text next to tool calls) is not the reply
  EXPECT_EQ(fin.turn.size(), 4u);     // user, assistant+tools, results, answer
  EXPECT_EQ(loop.steps(), 2);
}

TEST(AgentLoop, StepLimitFailsTheTurn) {
  LoopLimits l;
  l.max_steps = 3;
  auto loop = make_loop(l);
  auto a = loop.start();
  for (int i = 0; i < 2; ++i) {
    a = loop.on_response(200, tools_reply(1));
    ASSERT_TRUE(std::holds_alternative<loop::RunTools>(a)) << i;
    a = loop.on_tool_results({{"ok", false}});
    ASSERT_TRUE(std::holds_alternative<loop::Send>(a));
  }
  a = loop.on_response(200, tools_reply(1));
  ASSERT_TRUE(std::holds_alternative<loop::Fail>(a));
  EXPECT_EQ(std::get<loop::Fail>(a).error.code, "llm.step_limit");
  EXPECT_EQ(std::get<loop::Fail>(a).error.message, "[squadbox] step limit (3) reached");
}

TEST(AgentLoop, RetriesA429ThenSucceeds) {
  auto loop = make_loop();
  auto a = loop.start();
  const std::string body = std::get<loop::Send>(a).body;
  a = loop.on_response(429, R"({"error":{"type":"rate_limit_error","message":"slow"}})");
  ASSERT_TRUE(std::holds_alternative<loop::Wait>(a));
  EXPECT_EQ(std::get<loop::Wait>(a).delay, 1000ms);
  a = loop.resume();
  EXPECT_EQ(std::get<loop::Send>(a).body, body);  // the same request again
  a = loop.on_response(503, "busy", std::string("7"));
  EXPECT_EQ(std::get<loop::Wait>(a).delay, 7000ms);  // retry-after wins
  a = loop.resume();
  a = loop.on_transport_error(sb::make_error("http.connect", "connect /x: refused"));
  EXPECT_EQ(std::get<loop::Wait>(a).delay, 4000ms);  // third retry: 1 s, 2 s, 4 s
  a = loop.resume();
  a = loop.on_response(200, text_reply("fine"));
  EXPECT_EQ(std::get<loop::Finish>(a).text, "fine");
}

TEST(AgentLoop, GivesUpAfterThreeRetriesAndCapsRetryAfter) {
  auto loop = make_loop();
  auto a = loop.start();
  a = loop.on_response(529, "{}", std::string("3600"));
  EXPECT_EQ(std::get<loop::Wait>(a).delay, 30000ms);
  for (int i = 0; i < 2; ++i) {
    loop.resume();
    a = loop.on_response(500, R"({"error":{"type":"api_error","message":"internal"}})");
    ASSERT_TRUE(std::holds_alternative<loop::Wait>(a));
  }
  loop.resume();
  a = loop.on_response(500, R"({"error":{"type":"api_error","message":"internal"}})");
  ASSERT_TRUE(std::holds_alternative<loop::Fail>(a));
  EXPECT_EQ(std::get<loop::Fail>(a).error.message,
            "[squadbox] the model request failed after 4 attempts: HTTP 500 api_error: internal");
}

TEST(AgentLoop, AuthAndBadRequestFailAtOnceWithOneShortLine) {
  auto loop = make_loop();
  loop.start();
  auto a = loop.on_response(401, R"({"type":"error","error":{"type":"authentication_error","message":"bad key"}})");
  ASSERT_TRUE(std::holds_alternative<loop::Fail>(a));
  const auto& e = std::get<loop::Fail>(a).error;
  EXPECT_EQ(e.code, "llm.upstream_error");
  EXPECT_EQ(e.message, "[squadbox] the model request failed: HTTP 401 authentication_error: bad key");

  auto loop2 = make_loop();
  loop2.start();
  auto huge = loop2.on_response(400, std::string(100000, 'x') + "\nline2");
  const auto& m = std::get<loop::Fail>(huge).error.message;
  EXPECT_LT(m.size(), 320u);
  EXPECT_EQ(m.find('\n'), std::string::npos);

  auto loop3 = make_loop();
  loop3.start();
  auto garbage = loop3.on_response(200, "<html>");
  EXPECT_EQ(std::get<loop::Fail>(garbage).error.code, "llm.bad_response");
  auto loop4 = make_loop();
  loop4.start();
  auto timeout = loop4.on_transport_error(sb::make_error("http.timeout", "no complete response within 5 ms"));
  EXPECT_EQ(std::get<loop::Fail>(timeout).error.code, "http.timeout");  // already waited: not retried
}

TEST(AgentLoop, ToolOutputIsTruncatedWithAMarker) {
  LoopLimits l;
  l.tool_output_max_bytes = 1000;
  auto loop = make_loop(l);
  loop.start();
  loop.on_response(200, tools_reply(2));
  std::string big = std::string(999, 'a') + "\xC3\xA9" + std::string(5000, 'b');  // é straddles the limit
  auto a = loop.on_tool_results({{big, false}, {"", false}});
  auto d = body_of(a);
  const auto& results = d["messages"][2]["content"];
  std::string first = results[0]["content"].GetString();
  EXPECT_EQ(first, std::string(999, 'a') + "\n[... output truncated: 999 of 6001 bytes shown]");
  EXPECT_STREQ(results[1]["content"].GetString(), "(no output)");
}

TEST(AgentLoop, CapToolOutputKeepsUtf8AndCountsDroppedBytes) {
  EXPECT_EQ(cap_tool_output("short", 100), "short");
  EXPECT_EQ(cap_tool_output("abc", 100, 5000), "abc\n[... output truncated: 3 of 5000 bytes shown]");
  EXPECT_EQ(cap_tool_output("a\xff"
                            "b",
                            100),
            "a\xEF\xBF\xBD"
            "b");  // invalid byte -> U+FFFD
}

TEST(AgentLoop, MissingIdsAreMadeUpAndResultsPadded) {
  auto loop = AgentLoop(model_protocol(LlmProtocol::openai), LoopLimits{"m"}, "", {}, {}, "q");
  loop.start();
  auto a = loop.on_response(200, R"({"choices":[{"finish_reason":"tool_calls","message":{"content":null,
    "tool_calls":[{"function":{"name":"bash","arguments":""}},{"id":"x","function":{"name":"bash"}},
                  {"id":"x","function":{"name":"bash"}}]}}]})");
  const auto& calls = std::get<loop::RunTools>(a).calls;
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].id, "call_sb_1_0");
  EXPECT_EQ(calls[1].id, "x");
  EXPECT_EQ(calls[2].id, "call_sb_1_2");            // a duplicate id is replaced
  a = loop.on_tool_results({{"only one", false}});  // the rest are answered anyway
  auto d = body_of(a);
  EXPECT_EQ(d["messages"].Size(), 5u);  // user, assistant, 3 tool messages
  EXPECT_STREQ(d["messages"][4]["tool_call_id"].GetString(), "call_sb_1_2");
}

TEST(AgentLoop, EmptyAnswerAndMaxTokensInAToolCallFail) {
  auto loop = make_loop();
  loop.start();
  auto a = loop.on_response(200, R"({"content":[],"stop_reason":"end_turn"})");
  EXPECT_EQ(std::get<loop::Fail>(a).error.code, "llm.empty_reply");
  auto loop2 = make_loop();
  loop2.start();
  auto b = loop2.on_response(
      200, R"({"content":[{"type":"tool_use","id":"t","name":"bash","input":{}}],"stop_reason":"max_tokens"})");
  EXPECT_EQ(std::get<loop::Fail>(b).error.code, "llm.max_tokens");
}

TEST(AgentLoop, TurnTimeLimit) {
  FakeClock clock;
  LoopLimits l;
  l.turn_timeout = 10000ms;
  auto loop = make_loop(l, &clock);
  loop.start();
  EXPECT_EQ(loop.time_left(), 10000ms);
  loop.on_response(200, tools_reply(1));
  clock.t += 8000ms;
  auto a = loop.on_tool_results({{"ok", false}});
  ASSERT_TRUE(std::holds_alternative<loop::Send>(a));
  a = loop.on_response(503, "{}");  // 1 s backoff still fits in the 2 s left
  ASSERT_TRUE(std::holds_alternative<loop::Wait>(a));
  clock.t += 2000ms;
  a = loop.resume();
  ASSERT_TRUE(std::holds_alternative<loop::Fail>(a));
  EXPECT_EQ(std::get<loop::Fail>(a).error.message, "[squadbox] turn time limit (10000 ms) reached");
}

TEST(HistoryTrim, DropsOldestWholeTurnsNeverSplittingToolCalls) {
  std::vector<HistoryTurn> turns;
  for (int i = 0; i < 10; ++i) {
    HistoryTurn t = {"u" + std::to_string(i)};
    for (int k = 0; k < i % 3; ++k) t.push_back("tool-call-and-result");  // 1, 3 or 5 messages with the answer
    t.push_back("a");
    turns.push_back(t);
  }
  auto kept = trim_turns(turns, 12, 1 << 20);
  std::size_t n = 0;
  for (const auto& t : kept) n += t.size();
  EXPECT_LE(n, 12u);
  ASSERT_FALSE(kept.empty());
  EXPECT_EQ(kept.back(), turns.back());
  for (std::size_t i = 0; i < kept.size(); ++i)  // whole turns, the newest ones
    EXPECT_EQ(kept[i], turns[turns.size() - kept.size() + i]);
  EXPECT_TRUE(trim_turns(turns, 100, 1).empty());
  EXPECT_EQ(trim_turns(turns).size(), 10u);
}

TEST(HistoryFile, RoundTripsAndConvertsOrStartsFresh) {
  const auto& a = anth();
  const auto& o = model_protocol(LlmProtocol::openai);
  ModelReply answer;
  answer.text = "hello";
  ModelReply tool_step;
  tool_step.calls = {{"t1", "bash", "{}", std::nullopt}};
  std::vector<HistoryTurn> turns = {
      {a.user_message("hi"), a.assistant_message(answer)},
      {a.user_message("run"), a.assistant_message(tool_step),
       a.tool_result_messages(tool_step.calls, {{"out", false}})[0], a.assistant_message(answer)}};
  auto enc = encode_history_file(a, "tg:1", turns);
  auto back = decode_history_file(enc, a);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->turns.size(), 2u);
  EXPECT_EQ(back->turns[1].size(), 4u);  // the tool result stays inside its turn
  EXPECT_FALSE(back->note);

  // The other protocol: plain turns convert, tool turns start fresh.
  auto plain = decode_history_file(encode_history_file(a, "c", {turns[0]}), o);
  ASSERT_TRUE(plain.ok());
  ASSERT_EQ(plain->turns.size(), 1u);
  EXPECT_TRUE(o.starts_turn(plain->turns[0][0]));
  EXPECT_TRUE(plain->note);
  auto fresh = decode_history_file(enc, o);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(fresh->turns.empty());
  EXPECT_NE(fresh->note->find("started fresh"), std::string::npos);

  // Version 1 (text pairs) converts.
  auto v1 = decode_history_file(encode_history("c", {{"user", "q"}, {"assistant", "r"}}), o);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->turns.size(), 1u);

  for (const char* bad : {"{", "[]", R"({"version":3})", R"({"version":2,"protocol":"x","messages":[]})",
                          R"({"version":2,"protocol":"anthropic","messages":[{"role":"assistant","content":"a"}]})",
                          R"({"version":2,"protocol":"anthropic","messages":[{"role":"user","content":"q"}]})"})
    EXPECT_EQ(decode_history_file(bad, a).error().code, "llm.history_invalid") << bad;
}

}  // namespace
