#include "runtime/agent/turn_input.hpp"

namespace sb::agent {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// `&amp; &lt; &gt; &quot; &apos;` (what the host writes); anything else is kept.
std::string unescape(std::string_view s) {
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool done = false;
    if (s[i] == '&') {
      for (auto [entity, c] : kEntities) {
        if (s.compare(i, entity.size(), entity) == 0) {
          out += c;
          i += entity.size() - 1;
          done = true;
          break;
        }
      }
    }
    if (!done) out += s[i];
  }
  return out;
}

// The value of attribute `name` in a start tag's attribute text (`a="x" b="y"`).
std::optional<std::string> attribute(std::string_view attrs, std::string_view name) {
  std::size_t i = 0;
  while (i < attrs.size()) {
    while (i < attrs.size() && is_space(attrs[i])) ++i;
    std::size_t name_start = i;
    while (i < attrs.size() && attrs[i] != '=' && !is_space(attrs[i])) ++i;
    std::string_view key = attrs.substr(name_start, i - name_start);
    if (i >= attrs.size() || attrs[i] != '=') {
      if (i == name_start) ++i;  // stray byte: never loop in place
      continue;
    }
    ++i;  // '='
    if (i >= attrs.size() || (attrs[i] != '"' && attrs[i] != '\'')) continue;
    const char quote = attrs[i++];
    std::size_t end = attrs.find(quote, i);
    if (end == std::string_view::npos) end = attrs.size();
    if (key == name) return unescape(attrs.substr(i, end - i));
    i = end + 1;
  }
  return std::nullopt;
}

// `<message` followed by a blank or '>' (not `<messages`), from pos.
std::size_t find_message_tag(std::string_view s, std::size_t pos) {
  constexpr std::string_view kTag = "<message";
  while ((pos = s.find(kTag, pos)) != std::string_view::npos) {
    std::size_t after = pos + kTag.size();
    if (after < s.size() && (is_space(s[after]) || s[after] == '>')) return pos;
    pos = after;
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<std::vector<TurnInputMessage>> parse_turn_input(std::string_view input) {
  std::size_t start = 0;
  while (start < input.size() && is_space(input[start])) ++start;
  constexpr std::string_view kOpen = "<messages";
  if (input.compare(start, kOpen.size(), kOpen) != 0) return std::nullopt;
  std::size_t after = start + kOpen.size();
  if (after >= input.size() || (!is_space(input[after]) && input[after] != '>')) return std::nullopt;
  std::size_t pos = input.find('>', after);
  if (pos == std::string_view::npos) return std::vector<TurnInputMessage>{};

  std::vector<TurnInputMessage> out;
  constexpr std::string_view kClose = "</message>";
  constexpr std::string_view kListClose = "</messages>";
  while ((pos = find_message_tag(input, pos)) != std::string_view::npos) {
    std::size_t tag_end = input.find('>', pos);
    if (tag_end == std::string_view::npos) break;  // unterminated start tag
    std::string_view attrs = input.substr(pos + 8, tag_end - pos - 8);
    std::size_t text_start = tag_end + 1;
    std::size_t text_end = input.find(kClose, text_start);
    std::size_t next = text_end == std::string_view::npos ? input.size() : text_end + kClose.size();
    if (text_end == std::string_view::npos) {
      text_end = input.size();
      std::size_t list_close = input.rfind(kListClose);
      if (list_close != std::string_view::npos && list_close >= text_start) text_end = list_close;
    }
    TurnInputMessage m;
    m.sender = attribute(attrs, "sender").value_or("");
    if (m.sender.empty()) m.sender = attribute(attrs, "sender_id").value_or("");
    if (m.sender.empty()) m.sender = "someone";
    m.text = unescape(input.substr(text_start, text_end - text_start));
    out.push_back(std::move(m));
    pos = next;
  }
  return out;
}

std::string readable_turn_input(std::string_view input) {
  auto messages = parse_turn_input(input);
  if (!messages) return std::string(input);
  std::string out;
  for (const auto& m : *messages) {
    if (!out.empty()) out += '\n';
    out += m.sender;
    out += ": ";
    out += m.text;
  }
  return out;
}

}  // namespace sb::agent
