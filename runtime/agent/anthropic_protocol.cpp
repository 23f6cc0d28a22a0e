#include "runtime/agent/anthropic_protocol.hpp"

#include "runtime/agent/http_message.hpp"
#include "runtime/agent/json_text.hpp"

namespace sb::agent {
namespace {

Error bad(std::string message) {
  return make_error("llm.bad_response", std::move(message));
}

StopKind stop_kind(std::string_view reason) {
  if (reason == "end_turn" || reason == "stop_sequence") return StopKind::end;
  if (reason == "tool_use") return StopKind::tool_use;
  if (reason == "max_tokens") return StopKind::max_tokens;
  return StopKind::other;
}

}  // namespace

std::string AnthropicProtocol::encode_request(const ModelRequest& req) const {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  w.Key("model");
  json::str(w, req.model);
  w.Key("max_tokens");
  w.Int64(req.max_tokens);
  if (!req.system.empty()) {
    w.Key("system");
    json::str(w, req.system);
  }
  if (req.tools && !req.tools->empty()) {
    w.Key("tools");
    w.StartArray();
    for (const auto& t : *req.tools) {
      w.StartObject();
      w.Key("name");
      json::str(w, t.name);
      w.Key("description");
      json::str(w, t.description);
      w.Key("input_schema");
      json::raw(w, t.schema_json);
      w.EndObject();
    }
    w.EndArray();
  }
  w.Key("messages");
  w.StartArray();
  if (req.messages)
    for (const auto& m : *req.messages) json::raw(w, m);
  w.EndArray();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

Result<std::string> AnthropicProtocol::build_http_request(std::string_view route, std::string_view token,
                                                          std::string_view body) const {
  if (route.empty() || route.find('/') != std::string_view::npos)
    return make_error("http.bad_request", "invalid route name");
  return sb::agent::build_http_request("POST", "/" + std::string(route) + "/v1/messages",
                                       {{"host", "squadbox-proxy"},
                                        {"x-api-key", std::string(token)},
                                        {"anthropic-version", std::string(kAnthropicApiVersion)},
                                        {"content-type", "application/json"}},
                                       body);
}

Result<ModelReply> AnthropicProtocol::parse_response(int status, std::string_view body) const {
  if (status < 200 || status > 299) return upstream_error(status, body);
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject())
    return bad("the Messages response is not a JSON object: " + one_line(body));
  if (json::member(doc, "error") || json::str_member(doc, "type") == std::optional<std::string>("error"))
    return upstream_error(status, body);
  const auto* content = json::member(doc, "content");
  if (!content || !content->IsArray()) return bad("the Messages response has no content array");
  ModelReply reply;
  reply.stop_reason = json::str_member(doc, "stop_reason").value_or("");
  reply.stop = stop_kind(reply.stop_reason);
  for (const auto& block : content->GetArray()) {
    if (!block.IsObject()) return bad("a content block is not an object");
    auto type = json::str_member(block, "type").value_or("");
    if (type == "text") {
      auto t = json::str_member(block, "text");
      if (!t) return bad("a text block has no text");
      reply.text += *t;
    } else if (type == "tool_use") {
      ToolCall call;
      call.id = json::str_member(block, "id").value_or("");
      auto name = json::str_member(block, "name");
      if (!name || name->empty()) return bad("a tool_use block has no name");
      call.name = std::move(*name);
      const auto* input = json::member(block, "input");
      if (!input || input->IsNull()) {
        call.input_json = "{}";
      } else if (input->IsObject()) {
        call.input_json = json::to_string(*input);
      } else {
        call.input_json = "{}";
        call.input_error = "the arguments must be a JSON object, got " + one_line(json::to_string(*input), 100);
      }
      reply.calls.push_back(std::move(call));
    }  // thinking and other blocks: not part of the answer
  }
  return reply;
}

std::string AnthropicProtocol::user_message(std::string_view text) const {
  return json::text_message("user", text);
}

std::string AnthropicProtocol::assistant_message(const ModelReply& reply) const {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  w.Key("role");
  w.String("assistant");
  w.Key("content");
  w.StartArray();
  // The API refuses empty text blocks.
  if (!reply.text.empty() || reply.calls.empty()) {
    w.StartObject();
    w.Key("type");
    w.String("text");
    w.Key("text");
    json::str(w, reply.text.empty() ? std::string_view("(no answer)") : std::string_view(reply.text));
    w.EndObject();
  }
  for (const auto& c : reply.calls) {
    w.StartObject();
    w.Key("type");
    w.String("tool_use");
    w.Key("id");
    json::str(w, c.id);
    w.Key("name");
    json::str(w, c.name);
    w.Key("input");
    json::raw(w, c.input_json);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

std::vector<std::string> AnthropicProtocol::tool_result_messages(const std::vector<ToolCall>& calls,
                                                                 const std::vector<ToolResult>& results) const {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  w.Key("role");
  w.String("user");
  w.Key("content");
  w.StartArray();
  for (std::size_t i = 0; i < calls.size() && i < results.size(); ++i) {
    w.StartObject();
    w.Key("type");
    w.String("tool_result");
    w.Key("tool_use_id");
    json::str(w, calls[i].id);
    w.Key("content");
    json::str(w, results[i].content);
    if (results[i].is_error) {
      w.Key("is_error");
      w.Bool(true);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {std::string(sb.GetString(), sb.GetSize())};
}

bool AnthropicProtocol::starts_turn(std::string_view message_json) const {
  rapidjson::Document doc;
  doc.Parse(message_json.data(), message_json.size());
  if (doc.HasParseError() || json::str_member(doc, "role") != std::optional<std::string>("user")) return false;
  const auto* content = json::member(doc, "content");
  if (!content) return false;
  if (content->IsString()) return true;
  if (!content->IsArray()) return false;
  for (const auto& b : content->GetArray())
    if (json::str_member(b, "type") == std::optional<std::string>("tool_result")) return false;
  return true;
}

std::optional<PlainMessage> AnthropicProtocol::plain_text(std::string_view message_json) const {
  rapidjson::Document doc;
  doc.Parse(message_json.data(), message_json.size());
  if (doc.HasParseError()) return std::nullopt;
  auto role = json::str_member(doc, "role");
  const auto* content = json::member(doc, "content");
  if (!role || (*role != "user" && *role != "assistant") || !content) return std::nullopt;
  if (content->IsString()) return PlainMessage{*role, content->GetString()};
  if (!content->IsArray()) return std::nullopt;
  std::string text;
  for (const auto& b : content->GetArray()) {
    if (json::str_member(b, "type") != std::optional<std::string>("text")) return std::nullopt;
    text += json::str_member(b, "text").value_or("");
  }
  return PlainMessage{*role, std::move(text)};
}

}  // namespace sb::agent
