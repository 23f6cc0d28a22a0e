#include "runtime/agent/history_file.hpp"

#include "runtime/agent/json_text.hpp"

namespace sb::agent {
namespace {

Error invalid(std::string message) {
  return make_error("llm.history_invalid", std::move(message));
}

// The other protocol's turns, when every one is a plain user/assistant text pair.
std::optional<std::vector<HistoryTurn>> convert_plain(const std::vector<HistoryTurn>& turns, const ModelProtocol& from,
                                                      const ModelProtocol& to) {
  std::vector<HistoryTurn> out;
  for (const auto& turn : turns) {
    if (turn.size() != 2) return std::nullopt;
    auto user = from.plain_text(turn[0]);
    auto answer = from.plain_text(turn[1]);
    if (!user || !answer || user->role != "user" || answer->role != "assistant") return std::nullopt;
    ModelReply reply;
    reply.text = answer->text;
    out.push_back({to.user_message(user->text), to.assistant_message(reply)});
  }
  return out;
}

}  // namespace

std::string encode_history_file(const ModelProtocol& protocol, std::string_view chat,
                                const std::vector<HistoryTurn>& turns) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  w.Key("version");
  w.Int(2);
  w.Key("protocol");
  json::str(w, to_string(protocol.id()));
  w.Key("chat");
  json::str(w, chat);
  w.Key("messages");
  w.StartArray();
  for (const auto& turn : turns)
    for (const auto& m : turn) json::raw(w, m);
  w.EndArray();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

Result<LoadedHistory> decode_history_file(std::string_view text, const ModelProtocol& protocol) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return invalid("history is not a JSON object");
  const auto* version = json::member(doc, "version");
  if (!version || !version->IsInt()) return invalid("history has no version");
  LoadedHistory out;
  if (version->GetInt() == 1) {
    // user/assistant text pairs: the same shape in both protocols.
    auto v1 = decode_history(text);
    if (!v1) return v1.error();
    for (std::size_t i = 0; i + 1 < v1->size(); i += 2) {
      ModelReply reply;
      reply.text = (*v1)[i + 1].content;
      out.turns.push_back({protocol.user_message((*v1)[i].content), protocol.assistant_message(reply)});
    }
    out.note = "converted from version 1";
    return out;
  }
  if (version->GetInt() != 2) return invalid("history version must be 1 or 2");
  auto proto_name = json::str_member(doc, "protocol");
  const ModelProtocol* stored = nullptr;
  if (proto_name == std::optional<std::string>("anthropic"))
    stored = &model_protocol(LlmProtocol::anthropic);
  else if (proto_name == std::optional<std::string>("openai"))
    stored = &model_protocol(LlmProtocol::openai);
  else
    return invalid("history has an unknown protocol");
  const auto* messages = json::member(doc, "messages");
  if (!messages || !messages->IsArray()) return invalid("history has no messages array");
  std::vector<HistoryTurn> turns;
  for (const auto& m : messages->GetArray()) {
    if (!m.IsObject()) return invalid("a history message is not an object");
    std::string message = json::to_string(m);
    if (stored->starts_turn(message))
      turns.emplace_back();
    else if (turns.empty())
      return invalid("history does not start with a user message");
    turns.back().push_back(std::move(message));
  }
  for (const auto& t : turns)
    if (t.size() < 2) return invalid("history ends with an unanswered user message");
  if (stored == &protocol) {
    out.turns = std::move(turns);
    return out;
  }
  if (auto converted = convert_plain(turns, *stored, protocol)) {
    out.turns = std::move(*converted);
    out.note = "converted from protocol " + *proto_name;
  } else {
    out.note = "history of protocol " + *proto_name + " has tool turns that cannot be converted: started fresh";
  }
  return out;
}

std::vector<HistoryTurn> trim_turns(std::vector<HistoryTurn> turns, std::size_t max_messages, std::size_t max_bytes) {
  std::size_t messages = 0, bytes = 0;
  for (const auto& t : turns)
    for (const auto& m : t) ++messages, bytes += m.size();
  std::size_t drop = 0;
  while (drop < turns.size() && (messages > max_messages || bytes > max_bytes)) {
    for (const auto& m : turns[drop]) --messages, bytes -= m.size();
    ++drop;
  }
  turns.erase(turns.begin(), turns.begin() + static_cast<std::ptrdiff_t>(drop));
  return turns;
}

}  // namespace sb::agent
