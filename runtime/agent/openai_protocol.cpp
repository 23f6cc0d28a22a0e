#include "runtime/agent/openai_protocol.hpp"

#include "runtime/agent/http_message.hpp"
#include "runtime/agent/json_text.hpp"

namespace sb::agent {
namespace {

Error bad(std::string message) {
  return make_error("llm.bad_response", std::move(message));
}

StopKind stop_kind(std::string_view reason) {
  if (reason == "stop") return StopKind::end;
  if (reason == "tool_calls" || reason == "function_call") return StopKind::tool_use;
  if (reason == "length") return StopKind::max_tokens;
  return StopKind::other;
}

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// `arguments` is a JSON string holding an object; some servers send the object itself.
void read_arguments(const rapidjson::Value* args, ToolCall& call) {
  call.input_json = "{}";
  if (!args || args->IsNull()) return;
  if (args->IsObject()) {
    call.input_json = json::to_string(*args);
    return;
  }
  if (!args->IsString()) {
    call.input_error = "the arguments must be a JSON object, got " + one_line(json::to_string(*args), 100);
    return;
  }
  std::string_view text(args->GetString(), args->GetStringLength());
  if (blank(text)) return;
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    call.input_error = "the arguments are not a JSON object: " + one_line(text, 100);
    return;
  }
  call.input_json = json::to_string(doc);
}

// Message content: a string, null, or (some servers) an array of {type:text, text} parts.
std::optional<std::string> content_text(const rapidjson::Value* content) {
  if (!content || content->IsNull()) return std::string();
  if (content->IsString()) return std::string(content->GetString(), content->GetStringLength());
  if (!content->IsArray()) return std::nullopt;
  std::string text;
  for (const auto& part : content->GetArray())
    if (auto t = json::str_member(part, "text")) text += *t;
  return text;
}

}  // namespace

std::string OpenAiProtocol::encode_request(const ModelRequest& req) const {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  w.Key("model");
  json::str(w, req.model);
  w.Key("max_tokens");
  w.Int64(req.max_tokens);
  w.Key("messages");
  w.StartArray();
  if (!req.system.empty()) {
    w.StartObject();
    w.Key("role");
    w.String("system");
    w.Key("content");
    json::str(w, req.system);
    w.EndObject();
  }
  if (req.messages)
    for (const auto& m : *req.messages) json::raw(w, m);
  w.EndArray();
  // An empty tools array is refused by some servers: left out instead.
  if (req.tools && !req.tools->empty()) {
    w.Key("tools");
    w.StartArray();
    for (const auto& t : *req.tools) {
      w.StartObject();
      w.Key("type");
      w.String("function");
      w.Key("function");
      w.StartObject();
      w.Key("name");
      json::str(w, t.name);
      w.Key("description");
      json::str(w, t.description);
      w.Key("parameters");
      json::raw(w, t.schema_json);
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

Result<std::string> OpenAiProtocol::build_http_request(std::string_view route, std::string_view token,
                                                       std::string_view body) const {
  if (route.empty() || route.find('/') != std::string_view::npos)
    return make_error("http.bad_request", "invalid route name");
  return sb::agent::build_http_request("POST", "/" + std::string(route) + "/v1/chat/completions",
                                       {{"host", "squadbox-proxy"},
                                        {"authorization", "Bearer " + std::string(token)},
                                        {"content-type", "application/json"}},
                                       body);
}

Result<ModelReply> OpenAiProtocol::parse_response(int status, std::string_view body) const {
  if (status < 200 || status > 299) return upstream_error(status, body);
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject())
    return bad("the Chat Completions response is not a JSON object: " + one_line(body));
  if (json::member(doc, "error")) return upstream_error(status, body);
  const auto* choices = json::member(doc, "choices");
  if (!choices || !choices->IsArray() || choices->Empty()) return bad("the Chat Completions response has no choices");
  const auto& choice = (*choices)[0];
  const auto* message = json::member(choice, "message");
  if (!message || !message->IsObject()) return bad("the first choice has no message");
  ModelReply reply;
  reply.stop_reason = json::str_member(choice, "finish_reason").value_or("");
  reply.stop = stop_kind(reply.stop_reason);
  auto text = content_text(json::member(*message, "content"));
  if (!text) return bad("the message content is neither text nor null");
  reply.text = std::move(*text);
  if (const auto* calls = json::member(*message, "tool_calls"); calls && !calls->IsNull()) {
    if (!calls->IsArray()) return bad("tool_calls is not an array");
    for (const auto& c : calls->GetArray()) {
      const auto* fn = json::member(c, "function");
      auto name = fn ? json::str_member(*fn, "name") : std::nullopt;
      if (!name || name->empty()) return bad("a tool call has no function name");
      ToolCall call;
      call.id = json::str_member(c, "id").value_or("");
      call.name = std::move(*name);
      read_arguments(json::member(*fn, "arguments"), call);
      reply.calls.push_back(std::move(call));
    }
  }
  return reply;
}

std::string OpenAiProtocol::user_message(std::string_view text) const {
  return json::text_message("user", text);
}

std::string OpenAiProtocol::assistant_message(const ModelReply& reply) const {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  w.Key("role");
  w.String("assistant");
  w.Key("content");
  if (reply.text.empty() && !reply.calls.empty())
    w.Null();
  else
    json::str(w, reply.text);
  if (!reply.calls.empty()) {
    w.Key("tool_calls");
    w.StartArray();
    for (const auto& c : reply.calls) {
      w.StartObject();
      w.Key("id");
      json::str(w, c.id);
      w.Key("type");
      w.String("function");
      w.Key("function");
      w.StartObject();
      w.Key("name");
      json::str(w, c.name);
      w.Key("arguments");  // a JSON string; always a valid object, as servers re-parse it
      json::str(w, c.input_json);
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

std::vector<std::string> OpenAiProtocol::tool_result_messages(const std::vector<ToolCall>& calls,
                                                              const std::vector<ToolResult>& results) const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < calls.size() && i < results.size(); ++i) {
    rapidjson::StringBuffer sb;
    json::Writer w(sb);
    w.StartObject();
    w.Key("role");
    w.String("tool");
    w.Key("tool_call_id");
    json::str(w, calls[i].id);
    w.Key("content");
    // No is_error field in this protocol: the text says it.
    json::str(w, results[i].is_error ? "Error: " + results[i].content : results[i].content);
    w.EndObject();
    out.emplace_back(sb.GetString(), sb.GetSize());
  }
  return out;
}

bool OpenAiProtocol::starts_turn(std::string_view message_json) const {
  rapidjson::Document doc;
  doc.Parse(message_json.data(), message_json.size());
  return !doc.HasParseError() && json::str_member(doc, "role") == std::optional<std::string>("user");
}

std::optional<PlainMessage> OpenAiProtocol::plain_text(std::string_view message_json) const {
  rapidjson::Document doc;
  doc.Parse(message_json.data(), message_json.size());
  if (doc.HasParseError()) return std::nullopt;
  auto role = json::str_member(doc, "role");
  if (!role || (*role != "user" && *role != "assistant")) return std::nullopt;
  if (const auto* calls = json::member(doc, "tool_calls"); calls && !calls->IsNull()) return std::nullopt;
  auto text = content_text(json::member(doc, "content"));
  if (!text) return std::nullopt;
  return PlainMessage{*role, std::move(*text)};
}

}  // namespace sb::agent
