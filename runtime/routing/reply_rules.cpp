#include "runtime/routing/reply_rules.hpp"

#include <algorithm>

#include "runtime/core/text.hpp"
#include "runtime/messaging/validate.hpp"
#include "runtime/routing/route_decision.hpp"

namespace sb::routing {
namespace {

struct Tag {
  enum class Kind { none, open, close, empty };  // empty: "<internal/>"
  Kind kind = Kind::none;
  std::size_t end = 0;        // index after '>'
  bool unterminated = false;  // no '>' before the end of the text
};

// The tag starting at text[p] == '<', if it is an internal tag.
Tag parse_tag(std::string_view text, std::size_t p) {
  static constexpr std::string_view kName = "internal";
  std::size_t j = p + 1;
  const bool closing = j < text.size() && text[j] == '/';
  if (closing) ++j;
  if (text.size() - j < kName.size()) return {};
  for (std::size_t k = 0; k < kName.size(); ++k)
    if (ascii_lower(text[j + k]) != kName[k]) return {};
  j += kName.size();
  if (j < text.size() && text[j] != '>' && text[j] != '/' && !is_ascii_space(text[j])) return {};  // "<internals>"
  Tag tag;
  tag.kind = closing ? Tag::Kind::close : Tag::Kind::open;
  const std::size_t gt = text.find('>', j);
  if (gt == std::string_view::npos) {
    tag.unterminated = true;
    tag.end = text.size();
    return tag;
  }
  if (!closing && gt > j && text[gt - 1] == '/') tag.kind = Tag::Kind::empty;
  tag.end = gt + 1;
  return tag;
}

std::size_t count_newlines(std::string_view ws) {
  return static_cast<std::size_t>(std::count(ws.begin(), ws.end(), '\n'));
}

// Removes trailing whitespace of `out`, returning how many line breaks it held.
std::size_t trim_back(std::string& out, bool& had_space) {
  std::size_t end = out.size();
  while (end > 0 && is_ascii_space(out[end - 1])) --end;
  std::string_view ws(out.data() + end, out.size() - end);
  had_space = had_space || !ws.empty();
  const std::size_t n = count_newlines(ws);
  out.resize(end);
  return n;
}

}  // namespace

std::optional<std::string> strip_internal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  int depth = 0;
  // Whitespace seen on the left of the span being removed.
  std::size_t gap_newlines = 0;
  bool gap_space = false;

  const auto open_gap = [&] {
    gap_space = false;
    gap_newlines = trim_back(out, gap_space);
  };
  const auto close_gap = [&] {
    std::size_t j = i;
    while (j < text.size() && is_ascii_space(text[j])) ++j;
    std::string_view ws = text.substr(i, j - i);
    gap_space = gap_space || !ws.empty();
    gap_newlines = std::max(gap_newlines, count_newlines(ws));
    i = j;
    if (out.empty()) return;
    if (gap_newlines >= 2)
      out += "\n\n";
    else if (gap_newlines == 1)
      out += '\n';
    else if (gap_space)
      out += ' ';
  };

  while (i < text.size()) {
    const std::size_t lt = text.find('<', i);
    if (lt == std::string_view::npos) {
      if (depth == 0) out.append(text.substr(i));
      break;  // inside a span: unterminated, hidden to the end
    }
    if (depth == 0) out.append(text.substr(i, lt - i));
    const Tag tag = parse_tag(text, lt);
    if (tag.kind == Tag::Kind::none) {
      if (depth == 0) out += '<';
      i = lt + 1;
      continue;
    }
    if (tag.unterminated && tag.kind == Tag::Kind::open) {
      if (depth == 0) open_gap();
      break;  // an opening tag cut short: hide the rest
    }
    if (tag.kind == Tag::Kind::open) {
      if (depth++ == 0) open_gap();
      i = tag.end;
    } else if (depth == 0) {
      // A stray closing tag or an empty "<internal/>": remove the tag, keep the text.
      open_gap();
      i = tag.end;
      close_gap();
    } else if (tag.kind == Tag::Kind::close) {
      i = tag.end;
      if (--depth == 0) close_gap();
    } else {
      i = tag.end;  // "<internal/>" inside a span changes nothing
    }
  }

  std::string_view kept = trim(out);
  if (kept.empty()) return std::nullopt;
  if (kept.size() == out.size()) return out;
  return std::string(kept);
}

AddressDecision may_address(const RoutingTable& table, std::string_view namespace_id, std::string_view target_jid) {
  const NamespaceEntry* ns = table.find_namespace(namespace_id);
  if (!ns) return {false, "unknown_namespace"};
  if (target_jid.starts_with(kLocalJidPrefix)) {
    const std::string_view name = target_jid.substr(kLocalJidPrefix.size());
    if (!table.find_namespace_by_name(name)) return {false, "invalid_jid"};
    if (name == ns->name) return {true, "own_chat"};
    return ns->is_main ? AddressDecision{true, "main"} : AddressDecision{false, "foreign_chat"};
  }
  auto jid = messaging::parse_jid(target_jid);
  if (!jid || !messaging::header_safe(jid->native_id)) return {false, "invalid_jid"};
  if (table.is_mapped_to(target_jid, ns->id)) return {true, "own_chat"};
  if (ns->is_main) return {true, "main"};
  return {false, "foreign_chat"};
}

TypingSupport typing_support(messaging::ChannelKind kind) {
  using messaging::ChannelKind;
  using std::chrono::seconds;
  switch (kind) {
    case messaging::ChannelKind::telegram: return {true, seconds(5), false, "sendChatAction action=typing"};
    case messaging::ChannelKind::discord: return {true, seconds(10), false, "POST /channels/{channel.id}/typing"};
    case messaging::ChannelKind::whatsapp:
      return {true, seconds(25), true, "POST /{phone-number-id}/messages status=read typing_indicator"};
    case messaging::ChannelKind::slack:
      // Bots have no typing call in the Web API (only assistant threads have a status line).
      return {false, seconds(0), false, ""};
  }
  return {};
}

TypingSupport typing_support_for_jid(std::string_view jid) {
  auto parsed = messaging::parse_jid(jid);
  if (!parsed) return {};
  return typing_support(parsed->kind);
}

}  // namespace sb::routing
