#include "runtime/messaging/inbound.hpp"

#include <array>

#include "runtime/core/utf8.hpp"

namespace sb::messaging {
namespace {
constexpr std::array<ChannelKind, 4> kAll{ChannelKind::slack, ChannelKind::discord, ChannelKind::whatsapp,
                                          ChannelKind::telegram};
}

std::string_view channel_name(ChannelKind kind) {
  switch (kind) {
    case ChannelKind::slack: return "slack";
    case ChannelKind::discord: return "discord";
    case ChannelKind::whatsapp: return "whatsapp";
    case ChannelKind::telegram: return "telegram";
  }
  return "unknown";
}

std::string_view jid_prefix(ChannelKind kind) {
  switch (kind) {
    case ChannelKind::slack: return "slack:";
    case ChannelKind::discord: return "dc:";
    case ChannelKind::whatsapp: return "wa:";
    case ChannelKind::telegram: return "tg:";
  }
  return "";
}

std::string make_jid(ChannelKind kind, std::string_view native_id) {
  std::string jid(jid_prefix(kind));
  jid += native_id;
  return jid;
}

void sanitize_strings(InboundMessage& m) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  for (std::string* field : {&m.bot, &m.chat_jid, &m.sender_id, &m.sender_name, &m.text, &m.reply_ref, &m.message_ref,
                             &m.platform_message_id}) {
    if (!utf8::is_valid(*field)) *field = utf8::sanitize(*field);
    // A JSON "\u0000" decodes to a NUL byte, which PostgreSQL's text type cannot hold: the
    // message would fail to store on every redelivery. The same replacement on both
    // engines, so a message reads the same whichever one stored it.
    for (auto at = field->find('\0'); at != std::string::npos; at = field->find('\0', at + kReplacement.size()))
      field->replace(at, 1, kReplacement);
  }
}

Result<Jid> parse_jid(std::string_view jid) {
  for (ChannelKind kind : kAll) {
    std::string_view prefix = jid_prefix(kind);
    if (jid.starts_with(prefix)) {
      std::string_view id = jid.substr(prefix.size());
      if (id.empty()) return make_error("channel.bad_jid", "chat JID has an empty id");
      return Jid{kind, std::string(id)};
    }
  }
  return make_error("channel.bad_jid", "chat JID has no known prefix (slack:, dc:, wa:, tg:)");
}

bool valid_namespace_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(name[0])) return false;
  for (char c : name)
    if (!alnum(c) && c != '_' && c != '-') return false;
  return true;
}

Status validate_jid(std::string_view jid) {
  constexpr std::size_t kMaxJidBytes = 256;
  auto invalid = [](std::string_view message) { return make_error("invalid_field", "jid: " + std::string(message)); };
  if (jid.empty()) return invalid("required");
  if (jid.size() > kMaxJidBytes) return invalid("longer than " + std::to_string(kMaxJidBytes) + " bytes");
  for (unsigned char c : jid)
    if (c < 0x20 || c == 0x7f || c == ' ') return invalid("must not contain spaces or control characters");
  if (jid.starts_with(kLocalJidPrefix)) {
    if (!valid_namespace_name(jid.substr(kLocalJidPrefix.size())))
      return invalid("local: must be followed by a namespace name");
    return {};
  }
  if (auto parsed = parse_jid(jid); !parsed) return invalid(parsed.error().message);
  return {};
}

}  // namespace sb::messaging
