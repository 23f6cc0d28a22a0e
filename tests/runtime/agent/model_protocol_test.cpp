// The two model protocols' pure codecs: requests parsed back and checked field by
// field, responses with parallel tool calls and server quirks, error bodies, garbage;
// and the tool contract's schemas.
#include "runtime/agent/model_protocol.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "runtime/agent/anthropic_protocol.hpp"
#include "runtime/agent/openai_protocol.hpp"
#include "runtime/agent/tool_spec.hpp"

namespace {

using namespace sb::agent;

rapidjson::Document parse_json(const std::string& s) {
  rapidjson::Document d;
  d.Parse(s.c_str());
  EXPECT_FALSE(d.HasParseError()) << s;
  return d;
}

const ModelProtocol& anthropic_codec() {
  return model_protocol(LlmProtocol::anthropic);
}
const ModelProtocol& openai_codec() {
  return model_protocol(LlmProtocol::openai);
}

TEST(ToolSpec, EverySchemaIsAJsonObjectAndNamesMatch) {
  ASSERT_EQ(all_tool_definitions().size(), kToolNames.size());
  for (std::size_t i = 0; i < kToolNames.size(); ++i) {
    const auto& d = all_tool_definitions()[i];
    EXPECT_EQ(d.name, kToolNames[i]);
    auto doc = parse_json(std::string(d.schema_json));
    ASSERT_TRUE(doc.IsObject()) << d.name;
    EXPECT_STREQ(doc["type"].GetString(), "object") << d.name;
  }
  auto some = enabled_tool_definitions({"cancel_task", "bash"});
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[0].name, "bash");  // contract order, not the list's
  EXPECT_TRUE(enabled_tool_definitions({}).empty());
}

TEST(AnthropicCodec, RequestCarriesModelSystemToolsAndRawMessages) {
  auto tools = enabled_tool_definitions({"bash", "read_file"});
  std::vector<std::string> msgs = {anthropic_codec().user_message("hi \"there\"")};
  ModelReply r;
  r.text = "checking";
  r.calls = {{"toolu_1", "bash", R"({"command":"ls"})", std::nullopt}};
  msgs.push_back(anthropic_codec().assistant_message(r));
  for (auto& m : anthropic_codec().tool_result_messages(r.calls, {{"a.txt", false}})) msgs.push_back(m);
  auto d = parse_json(anthropic_codec().encode_request({"claude-x", 777, "be brief", &tools, &msgs}));
  EXPECT_STREQ(d["model"].GetString(), "claude-x");
  EXPECT_EQ(d["max_tokens"].GetInt(), 777);
  EXPECT_STREQ(d["system"].GetString(), "be brief");
  ASSERT_EQ(d["tools"].Size(), 2u);
  EXPECT_STREQ(d["tools"][0]["name"].GetString(), "bash");
  EXPECT_TRUE(d["tools"][0]["description"].IsString());
  EXPECT_STREQ(d["tools"][0]["input_schema"]["type"].GetString(), "object");
  ASSERT_EQ(d["messages"].Size(), 3u);
  EXPECT_STREQ(d["messages"][0]["content"].GetString(), "hi \"there\"");
  const auto& a = d["messages"][1];
  EXPECT_STREQ(a["role"].GetString(), "assistant");
  EXPECT_STREQ(a["content"][0]["type"].GetString(), "text");
  EXPECT_STREQ(a["content"][1]["type"].GetString(), "tool_use");
  EXPECT_STREQ(a["content"][1]["id"].GetString(), "toolu_1");
  EXPECT_STREQ(a["content"][1]["input"]["command"].GetString(), "ls");
  const auto& t = d["messages"][2];
  EXPECT_STREQ(t["role"].GetString(), "user");
  EXPECT_STREQ(t["content"][0]["type"].GetString(), "tool_result");
  EXPECT_STREQ(t["content"][0]["tool_use_id"].GetString(), "toolu_1");
  EXPECT_STREQ(t["content"][0]["content"].GetString(), "a.txt");
  EXPECT_FALSE(t["content"][0].HasMember("is_error"));

  std::vector<ToolDefinition> none;
  auto bare = parse_json(anthropic_codec().encode_request({"m", 1, "", &none, &msgs}));
  EXPECT_FALSE(bare.HasMember("tools"));
  EXPECT_FALSE(bare.HasMember("system"));
}

TEST(AnthropicCodec, HttpRequestHasTheContractHeaders) {
  auto r = anthropic_codec().build_http_request("anthropic", "sbp_tok", "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rfind("POST /anthropic/v1/messages HTTP/1.1\r\n", 0), 0u) << *r;
  EXPECT_NE(r->find("\r\nx-api-key: sbp_tok\r\n"), std::string::npos);
  EXPECT_NE(r->find("\r\nanthropic-version: 2023-06-01\r\n"), std::string::npos);
  EXPECT_FALSE(anthropic_codec().build_http_request("a/b", "t", "{}").ok());
  EXPECT_EQ(anthropic_codec().build_http_request("x", "t\r\nevil: 1", "{}").error().code, "http.bad_request");
}

TEST(AnthropicCodec, ParsesParallelToolUseAndText) {
  auto r = anthropic_codec().parse_response(200, R"({"content":[{"type":"thinking","thinking":"hm"},
    {"type":"text","text":"Let me look."},
    {"type":"tool_use","id":"toolu_a","name":"read_file","input":{"path":"x"}},
    {"type":"tool_use","id":"toolu_b","name":"bash","input":{"command":"ls"}},
    {"type":"tool_use","id":"toolu_c","name":"list_tasks"},
    {"type":"tool_use","id":"toolu_d","name":"bash","input":"ls"}],"stop_reason":"tool_use"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->text, "Let me look.");
  EXPECT_EQ(r->stop, StopKind::tool_use);
  ASSERT_EQ(r->calls.size(), 4u);
  EXPECT_EQ(r->calls[0], (ToolCall{"toolu_a", "read_file", R"({"path":"x"})", std::nullopt}));
  EXPECT_EQ(r->calls[1].name, "bash");
  EXPECT_EQ(r->calls[2].input_json, "{}");
  EXPECT_EQ(r->calls[3].input_json, "{}");
  ASSERT_TRUE(r->calls[3].input_error);  // not an object: answered with an error, no crash
}

TEST(AnthropicCodec, ErrorsAndGarbage) {
  auto e401 = anthropic_codec().parse_response(
      401, R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}})");
  EXPECT_EQ(e401.error().code, "llm.upstream_error");
  EXPECT_EQ(e401.error().message, "HTTP 401 authentication_error: invalid x-api-key");
  auto in200 =
      anthropic_codec().parse_response(200, R"({"type":"error","error":{"type":"overloaded_error","message":"busy"}})");
  EXPECT_EQ(in200.error().message, "HTTP 200 overloaded_error: busy");
  auto html = anthropic_codec().parse_response(503, "<html>\nbad\ngateway</html>");
  EXPECT_EQ(html.error().message, "HTTP 503: <html> bad gateway</html>");
  EXPECT_LT(anthropic_codec().parse_response(500, std::string(5000, 'x')).error().message.size(), 260u);
  for (const char* body : {"{not json", "[]", R"({"content":"x"})", R"({"content":[1]})",
                           R"({"content":[{"type":"text"}]})", R"({"content":[{"type":"tool_use","id":"t"}]})"}) {
    auto r = anthropic_codec().parse_response(200, body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code, "llm.bad_response") << body;
  }
  auto maxed =
      anthropic_codec().parse_response(200, R"({"content":[{"type":"text","text":"cut"}],"stop_reason":"max_tokens"})");
  EXPECT_EQ(maxed->stop, StopKind::max_tokens);
}

TEST(AnthropicCodec, TurnStartsAndPlainText) {
  EXPECT_TRUE(anthropic_codec().starts_turn(anthropic_codec().user_message("x")));
  auto results = anthropic_codec().tool_result_messages({{"t1", "bash", "{}", std::nullopt}}, {{"boom", true}});
  EXPECT_FALSE(anthropic_codec().starts_turn(results[0]));
  EXPECT_TRUE(parse_json(results[0])["content"][0]["is_error"].GetBool());
  ModelReply r;
  r.text = "answer";
  EXPECT_EQ(anthropic_codec().plain_text(anthropic_codec().assistant_message(r))->text, "answer");
  r.calls = {{"t1", "bash", "{}", std::nullopt}};
  EXPECT_FALSE(anthropic_codec().plain_text(anthropic_codec().assistant_message(r)));
}

TEST(OpenAiCodec, RequestHasSystemFirstAndFunctionTools) {
  auto tools = enabled_tool_definitions({"bash"});
  std::vector<std::string> msgs = {openai_codec().user_message("hi")};
  ModelReply r;
  r.calls = {{"call_1", "bash", R"({"command":"ls"})", std::nullopt},
             {"call_2", "bash", R"({"command":"pwd"})", std::nullopt}};
  msgs.push_back(openai_codec().assistant_message(r));
  for (auto& m : openai_codec().tool_result_messages(r.calls, {{"a", false}, {"no", true}})) msgs.push_back(m);
  auto d = parse_json(openai_codec().encode_request({"qwen", 99, "sys", &tools, &msgs}));
  EXPECT_STREQ(d["model"].GetString(), "qwen");
  EXPECT_EQ(d["max_tokens"].GetInt(), 99);
  ASSERT_EQ(d["messages"].Size(), 5u);
  EXPECT_STREQ(d["messages"][0]["role"].GetString(), "system");
  EXPECT_STREQ(d["messages"][0]["content"].GetString(), "sys");
  const auto& a = d["messages"][2];
  EXPECT_TRUE(a["content"].IsNull());
  ASSERT_EQ(a["tool_calls"].Size(), 2u);
  EXPECT_STREQ(a["tool_calls"][1]["id"].GetString(), "call_2");
  EXPECT_STREQ(a["tool_calls"][1]["type"].GetString(), "function");
  EXPECT_STREQ(a["tool_calls"][1]["function"]["arguments"].GetString(), R"({"command":"pwd"})");
  EXPECT_STREQ(d["messages"][3]["role"].GetString(), "tool");
  EXPECT_STREQ(d["messages"][3]["tool_call_id"].GetString(), "call_1");
  EXPECT_STREQ(d["messages"][4]["content"].GetString(), "Error: no");
  ASSERT_EQ(d["tools"].Size(), 1u);
  EXPECT_STREQ(d["tools"][0]["type"].GetString(), "function");
  EXPECT_STREQ(d["tools"][0]["function"]["name"].GetString(), "bash");
  EXPECT_STREQ(d["tools"][0]["function"]["parameters"]["type"].GetString(), "object");

  std::vector<ToolDefinition> none;
  auto bare = parse_json(openai_codec().encode_request({"m", 1, "", &none, &msgs}));
  EXPECT_FALSE(bare.HasMember("tools"));
  EXPECT_STREQ(bare["messages"][0]["role"].GetString(), "user");

  auto http = openai_codec().build_http_request("local-llm", "sbp_t", "{}");
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->rfind("POST /local-llm/v1/chat/completions HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(http->find("\r\nauthorization: Bearer sbp_t\r\n"), std::string::npos);
}

TEST(OpenAiCodec, ServerQuirks) {
  // llama.cpp / Ollama / vLLM: null content, empty or object arguments, no id.
  auto r =
      openai_codec().parse_response(200, R"({"choices":[{"finish_reason":"tool_calls","message":{"role":"assistant",
    "content":null,"tool_calls":[
      {"id":"c1","type":"function","function":{"name":"list_tasks","arguments":""}},
      {"type":"function","function":{"name":"bash","arguments":{"command":"ls"}}},
      {"id":"c3","function":{"name":"bash","arguments":"{\"command\": \"pwd\"}"}},
      {"id":"c4","function":{"name":"bash","arguments":"[1,2]"}},
      {"id":"c5","function":{"name":"bash","arguments":"{broken"}}]}}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->text, "");
  EXPECT_EQ(r->stop, StopKind::tool_use);
  ASSERT_EQ(r->calls.size(), 5u);
  EXPECT_EQ(r->calls[0], (ToolCall{"c1", "list_tasks", "{}", std::nullopt}));
  EXPECT_EQ(r->calls[1].id, "");  // the loop makes one up
  EXPECT_EQ(r->calls[1].input_json, R"({"command":"ls"})");
  EXPECT_EQ(r->calls[2].input_json, R"({"command":"pwd"})");
  EXPECT_TRUE(r->calls[3].input_error);
  EXPECT_TRUE(r->calls[4].input_error);
  EXPECT_EQ(r->calls[4].input_json, "{}");

  auto text =
      openai_codec().parse_response(200, R"({"choices":[{"finish_reason":"stop","message":{"content":"done"}}]})");
  EXPECT_EQ(text->text, "done");
  EXPECT_TRUE(text->calls.empty());
  auto parts = openai_codec().parse_response(
      200,
      R"({"choices":[{"finish_reason":"length","message":{"content":[{"type":"text","text":"a"},{"text":"b"}]}}]})");
  EXPECT_EQ(parts->text, "ab");
  EXPECT_EQ(parts->stop, StopKind::max_tokens);
}

TEST(OpenAiCodec, ErrorsAndGarbage) {
  EXPECT_EQ(openai_codec()
                .parse_response(429, R"({"error":{"message":"slow down","type":"rate_limit","code":null}})")
                .error()
                .message,
            "HTTP 429 rate_limit: slow down");
  EXPECT_EQ(openai_codec().parse_response(400, R"({"error":"model not found"})").error().message,
            "HTTP 400 model not found");
  EXPECT_EQ(openai_codec().parse_response(200, R"({"error":{"message":"oops"}})").error().code, "llm.upstream_error");
  for (const char* body :
       {"", "{", R"({"choices":[]})", R"({"choices":[{}]})", R"({"choices":[{"message":{"content":5}}]})",
        R"({"choices":[{"message":{"tool_calls":{}}}]})",
        R"({"choices":[{"message":{"tool_calls":[{"function":{}}]}}]})"}) {
    auto r = openai_codec().parse_response(200, body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code, "llm.bad_response") << body;
  }
}

TEST(ModelProtocol, RetryPolicyInputs) {
  for (int s : {408, 429, 500, 502, 503, 504, 529}) EXPECT_TRUE(is_retryable_status(s)) << s;
  for (int s : {200, 400, 401, 403, 404, 413, 422}) EXPECT_FALSE(is_retryable_status(s)) << s;
  EXPECT_TRUE(is_retryable_transport(sb::make_error("http.connect", "")));
  EXPECT_TRUE(is_retryable_transport(sb::make_error("http.truncated", "")));
  EXPECT_FALSE(is_retryable_transport(sb::make_error("http.timeout", "")));
  EXPECT_FALSE(is_retryable_transport(sb::make_error("http.malformed", "")));
}

}  // namespace
