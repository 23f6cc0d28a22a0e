#pragma once
// ScriptedModel: a fake model API on loopback (plain or TLS, a FakeUpstream underneath)
// that answers from a script, in either protocol the agent speaks:
//   Anthropic Messages      POST /v1/messages           (tool_use / tool_result blocks)
//   OpenAI-compatible Chat  POST /v1/chat/completions   (tool_calls / role "tool")
// Each step of the script checks the request it answers (the tools offered, the results
// of the previous step's tool calls) and gives the reply. A check that fails, a request
// beyond the script or to the wrong path is recorded as a violation and answered 500, so
// a test sees both the broken contract and the agent's reaction to it.
//
//   ScriptedModel model(ModelProtocol::anthropic, {.tls = true, ...});
//   model.push({.check = expect_tools({"bash"}), .reply = anthropic_tool_use({{"t1", "bash",
//   R"({"command":"echo hi"})"}})}); model.push({.check = expect_tool_result("t1", "hi"), .reply =
//   anthropic_text("done")});
//   ... model.wait_for_steps(2, 30s); EXPECT_TRUE(model.violations().empty());
//
// Header-only; tests and benchmarks only.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "tests/support/fake_upstream.hpp"

namespace sb::test {

enum class ModelProtocol { anthropic, openai };

struct ScriptedToolCall {
  std::string id;
  std::string name;
  std::string input_json;  // the arguments, a JSON object as text
};

// One tool result as the agent sent it back.
struct SeenToolResult {
  std::string content;
  bool is_error = false;  // Anthropic's is_error; always false for OpenAI
};

struct ModelStep {
  // "" = the request is as expected; else what is wrong with it.
  std::function<std::string(const RecordedRequest&, const rapidjson::Document&, ModelProtocol)> check;
  UpstreamReply reply;
};

inline std::string json_quote(const std::string& s) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return b.GetString();
}

inline std::string json_text(const rapidjson::Value& v) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  v.Accept(w);
  return b.GetString();
}

// ---- replies ------------------------------------------------------------------------

inline UpstreamReply anthropic_text(const std::string& text) {
  return UpstreamReply::json(200, R"({"id":"msg_s","type":"message","role":"assistant","model":"m","content":[)"
                                  R"({"type":"text","text":)" +
                                      json_quote(text) +
                                      R"(}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}})");
}

inline UpstreamReply anthropic_tool_use(const std::vector<ScriptedToolCall>& calls, const std::string& text = "") {
  std::string content;
  if (!text.empty()) content = R"({"type":"text","text":)" + json_quote(text) + "}";
  for (const auto& c : calls) {
    if (!content.empty()) content += ",";
    content += R"({"type":"tool_use","id":)" + json_quote(c.id) + R"(,"name":)" + json_quote(c.name) + R"(,"input":)" +
               c.input_json + "}";
  }
  return UpstreamReply::json(200, R"({"id":"msg_s","type":"message","role":"assistant","model":"m","content":[)" +
                                      content +
                                      R"(],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}})");
}

inline UpstreamReply openai_text(const std::string& text) {
  return UpstreamReply::json(200, R"({"id":"chatcmpl-s","object":"chat.completion","model":"m","choices":[)"
                                  R"({"index":0,"message":{"role":"assistant","content":)" +
                                      json_quote(text) + R"(},"finish_reason":"stop"}]})");
}

inline UpstreamReply openai_tool_calls(const std::vector<ScriptedToolCall>& calls) {
  std::string list;
  for (const auto& c : calls) {
    if (!list.empty()) list += ",";
    list += R"({"id":)" + json_quote(c.id) + R"(,"type":"function","function":{"name":)" + json_quote(c.name) +
            R"(,"arguments":)" + json_quote(c.input_json) + "}}";
  }
  return UpstreamReply::json(200, R"({"id":"chatcmpl-s","object":"chat.completion","model":"m","choices":[)"
                                  R"({"index":0,"message":{"role":"assistant","content":null,"tool_calls":[)" +
                                      list + R"(]},"finish_reason":"tool_calls"}]})");
}

inline UpstreamReply text_reply(ModelProtocol p, const std::string& text) {
  return p == ModelProtocol::anthropic ? anthropic_text(text) : openai_text(text);
}
inline UpstreamReply tool_calls_reply(ModelProtocol p, const std::vector<ScriptedToolCall>& calls) {
  return p == ModelProtocol::anthropic ? anthropic_tool_use(calls) : openai_tool_calls(calls);
}
inline UpstreamReply error_reply(ModelProtocol p, int status, const std::string& type, const std::string& message) {
  if (p == ModelProtocol::anthropic)
    return UpstreamReply::json(status, R"({"type":"error","error":{"type":)" + json_quote(type) + R"(,"message":)" +
                                           json_quote(message) + "}}");
  return UpstreamReply::json(
      status, R"({"error":{"type":)" + json_quote(type) + R"(,"message":)" + json_quote(message) + R"(,"code":null}})");
}

// ---- reading requests ---------------------------------------------------------------

// The names of the tools a request offers.
inline std::vector<std::string> offered_tools(const rapidjson::Document& d, ModelProtocol p) {
  std::vector<std::string> out;
  if (!d.IsObject() || !d.HasMember("tools") || !d["tools"].IsArray()) return out;
  for (const auto& t : d["tools"].GetArray()) {
    const rapidjson::Value* obj = &t;
    if (p == ModelProtocol::openai) {
      if (!t.IsObject() || !t.HasMember("function")) continue;
      obj = &t["function"];
    }
    if (obj->IsObject() && obj->HasMember("name") && (*obj)["name"].IsString())
      out.emplace_back((*obj)["name"].GetString());
  }
  return out;
}

// The result the request carries for tool call `id`, if any (anywhere in its messages).
inline std::optional<SeenToolResult> tool_result(const rapidjson::Document& d, ModelProtocol p, const std::string& id) {
  if (!d.IsObject() || !d.HasMember("messages") || !d["messages"].IsArray()) return std::nullopt;
  for (const auto& m : d["messages"].GetArray()) {
    if (!m.IsObject()) continue;
    if (p == ModelProtocol::openai) {
      if (m.HasMember("role") && m["role"].IsString() && std::string(m["role"].GetString()) == "tool" &&
          m.HasMember("tool_call_id") && m["tool_call_id"].IsString() && m["tool_call_id"].GetString() == id) {
        SeenToolResult r;
        if (m.HasMember("content") && m["content"].IsString()) r.content = m["content"].GetString();
        return r;
      }
      continue;
    }
    if (!m.HasMember("content") || !m["content"].IsArray()) continue;
    for (const auto& b : m["content"].GetArray()) {
      if (!b.IsObject() || !b.HasMember("type") || !b["type"].IsString()) continue;
      if (std::string(b["type"].GetString()) != "tool_result") continue;
      if (!b.HasMember("tool_use_id") || !b["tool_use_id"].IsString() || b["tool_use_id"].GetString() != id) continue;
      SeenToolResult r;
      if (b.HasMember("content") && b["content"].IsString()) {
        r.content = b["content"].GetString();
      } else if (b.HasMember("content") && b["content"].IsArray()) {
        for (const auto& c : b["content"].GetArray())
          if (c.IsObject() && c.HasMember("text") && c["text"].IsString()) r.content += c["text"].GetString();
      }
      r.is_error = b.HasMember("is_error") && b["is_error"].IsBool() && b["is_error"].GetBool();
      return r;
    }
  }
  return std::nullopt;
}

// Every text the request's messages and system prompt carry, concatenated (for "the
// history contains X" checks).
inline std::string all_text(const rapidjson::Document& d) {
  return d.IsObject() ? json_text(d) : std::string();
}

// ---- checks -------------------------------------------------------------------------

using StepCheck = std::function<std::string(const RecordedRequest&, const rapidjson::Document&, ModelProtocol)>;

inline StepCheck expect_tools(std::vector<std::string> names) {
  return [names](const RecordedRequest&, const rapidjson::Document& d, ModelProtocol p) -> std::string {
    auto offered = offered_tools(d, p);
    for (const auto& n : names)
      if (std::find(offered.begin(), offered.end(), n) == offered.end()) return "tool " + n + " not offered";
    return "";
  };
}

inline StepCheck expect_no_tool(std::string name) {
  return [name](const RecordedRequest&, const rapidjson::Document& d, ModelProtocol p) -> std::string {
    auto offered = offered_tools(d, p);
    return std::find(offered.begin(), offered.end(), name) == offered.end() ? "" : "tool " + name + " offered";
  };
}

// The result of call `id` contains `needle` (and, for Anthropic, is_error == error).
inline StepCheck expect_tool_result(std::string id, std::string needle, std::optional<bool> error = std::nullopt) {
  return [=](const RecordedRequest&, const rapidjson::Document& d, ModelProtocol p) -> std::string {
    auto r = tool_result(d, p, id);
    if (!r) return "no result for tool call " + id;
    if (r->content.find(needle) == std::string::npos)
      return "result of " + id + " lacks \"" + needle + "\": " + r->content.substr(0, 400);
    if (error && p == ModelProtocol::anthropic && r->is_error != *error)
      return "result of " + id + (*error ? " is not" : " is") + " an error";
    return "";
  };
}

inline StepCheck expect_text(std::string needle) {
  return [needle](const RecordedRequest&, const rapidjson::Document& d, ModelProtocol) -> std::string {
    return all_text(d).find(needle) == std::string::npos ? "request lacks \"" + needle + "\"" : "";
  };
}

inline StepCheck all_of(std::vector<StepCheck> checks) {
  return [checks](const RecordedRequest& r, const rapidjson::Document& d, ModelProtocol p) -> std::string {
    for (const auto& c : checks)
      if (auto v = c(r, d, p); !v.empty()) return v;
    return "";
  };
}

// ---- the server ---------------------------------------------------------------------

class ScriptedModel {
 public:
  ScriptedModel(ModelProtocol protocol, FakeUpstreamOptions options) : protocol_(protocol), up_(std::move(options)) {
    up_.set_handler([this](const RecordedRequest& r) { return answer(r); });
  }

  ModelProtocol protocol() const { return protocol_; }
  uint16_t port() const { return up_.port(); }
  std::string url() const { return up_.url(); }
  FakeUpstream& upstream() { return up_; }
  std::string path() const { return protocol_ == ModelProtocol::anthropic ? "/v1/messages" : "/v1/chat/completions"; }

  void push(ModelStep step) {
    std::lock_guard lock(mutex_);
    script_.push_back(std::move(step));
  }

  // Forgets the script, the violations and the requests (the next test's clean slate;
  // the port stays, so a node configured with it keeps working).
  void reset() {
    std::lock_guard lock(mutex_);
    script_.clear();
    violations_.clear();
    bodies_.clear();
    arrivals_.clear();
    answered_ = 0;
  }

  // Steps answered so far (requests that matched a step, violations included).
  size_t answered() const {
    std::lock_guard lock(mutex_);
    return answered_;
  }
  bool wait_for_steps(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return answered_ >= n; });
  }
  bool script_done() const {
    std::lock_guard lock(mutex_);
    return script_.empty();
  }
  std::vector<std::string> violations() const {
    std::lock_guard lock(mutex_);
    return violations_;
  }
  // When each request arrived (benchmarks: the agent's time between two model calls).
  std::vector<std::chrono::steady_clock::time_point> arrivals() const {
    std::lock_guard lock(mutex_);
    return arrivals_;
  }
  // The parsed body of every request, in order.
  std::vector<std::string> bodies() const {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

 private:
  UpstreamReply answer(const RecordedRequest& r) {
    const auto arrived = std::chrono::steady_clock::now();
    rapidjson::Document d;
    d.Parse(r.body.data(), r.body.size());
    std::unique_lock lock(mutex_);
    arrivals_.push_back(arrived);
    bodies_.push_back(r.body);
    ++answered_;
    cv_.notify_all();
    auto fail = [&](std::string why) {
      violations_.push_back("request " + std::to_string(answered_) + ": " + why);
      return UpstreamReply::json(500, R"({"type":"error","error":{"type":"api_error","message":"script violation"}})");
    };
    if (r.method != "POST" || r.target != path()) return fail("unexpected " + r.method + " " + r.target);
    if (d.HasParseError() || !d.IsObject()) return fail("body is not a JSON object");
    if (script_.empty()) return fail("beyond the script");
    ModelStep step = std::move(script_.front());
    script_.pop_front();
    if (step.check) {
      lock.unlock();
      auto v = step.check(r, d, protocol_);
      lock.lock();
      if (!v.empty()) {
        violations_.push_back("request " + std::to_string(answered_) + ": " + v);
      }
    }
    return step.reply;
  }

  ModelProtocol protocol_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<ModelStep> script_;
  std::vector<std::string> violations_;
  std::vector<std::string> bodies_;
  std::vector<std::chrono::steady_clock::time_point> arrivals_;
  size_t answered_ = 0;
  FakeUpstream up_;  // last: its threads call answer() until it is destroyed first
};

}  // namespace sb::test
