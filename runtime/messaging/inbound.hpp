#pragma once
// The one inbound message type every platform is normalised into, and chat JIDs.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"

namespace sb::messaging {

enum class ChannelKind : std::uint8_t { slack, discord, whatsapp, telegram };

// "slack", "discord", "whatsapp", "telegram": the name used in routes, config and logs.
std::string_view channel_name(ChannelKind kind);
// "slack:", "dc:", "wa:", "tg:" (DESIGN.md).
std::string_view jid_prefix(ChannelKind kind);
std::string make_jid(ChannelKind kind, std::string_view native_id);

struct Jid {
  ChannelKind kind = ChannelKind::slack;
  std::string native_id;  // channel id, chat id or phone, without the prefix
};
// Error "channel.bad_jid" for an unknown prefix or an empty id.
Result<Jid> parse_jid(std::string_view jid);

// The local chat channel's JIDs are "local:{namespace name}"; a namespace name matches
// ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ (namespaces::validate_name reports it per field).
inline constexpr std::string_view kLocalJidPrefix = "local:";
bool valid_namespace_name(std::string_view name);

// A chat JID as an operator or an agent may write one: a platform JID or local:{name},
// at most 256 bytes, no spaces or control characters. Error "invalid_field", the message
// starting with "jid: ".
Status validate_jid(std::string_view jid);

struct InboundMessage {
  ChannelKind channel = ChannelKind::slack;
  std::string bot;          // configured bot name (several bots per platform)
  std::string chat_jid;     // slack:{channel} dc:{channel_id} wa:{phone} tg:{chat_id}
  std::string sender_id;    // platform user id (WhatsApp: the sender's phone)
  std::string sender_name;  // display name when the payload carries one, else ""
  std::string text;
  // Where a reply goes: Slack thread_ts, Telegram reply_to_message.message_id, WhatsApp
  // context.id, Discord interaction token (a 15-minute credential: never log it).
  std::string reply_ref;
  // The message's own id in its chat (Slack ts, Telegram message_id, WhatsApp id,
  // Discord interaction id): what a reply would quote or thread under.
  std::string message_ref;
  // Dedupe key, unique per (channel, bot): Slack event_id, WhatsApp message id,
  // Telegram update_id, Discord interaction id.
  std::string platform_message_id;
  std::int64_t timestamp_ms = 0;  // unix milliseconds, as the platform stamped it
  bool is_group = false;
  bool mentions_bot = false;  // explicitly addressed; a direct message counts

  bool operator==(const InboundMessage&) const = default;
};

// Replaces invalid UTF-8 and NUL bytes in every string field with U+FFFD. JSON escapes
// can encode lone surrogates and U+0000 and form bodies any byte, so parsers call this on
// what they emit: the rest of the system (and either storage engine) may rely on valid
// UTF-8 without NULs.
void sanitize_strings(InboundMessage& message);

// Something a delivery carried that is deliberately not a message, and why.
struct IgnoredItem {
  std::string platform_id;  // the item's id when it has one, else ""
  std::string reason;       // stable code, e.g. "subtype:message_changed", "bot_sender"
  bool operator==(const IgnoredItem&) const = default;
};

// The result of parsing one verified webhook delivery.
struct ParsedDelivery {
  std::vector<InboundMessage> messages;
  std::vector<IgnoredItem> ignored;
  // JSON body of the 2xx acknowledgement (Discord: {"type":5}); "" means an empty body.
  std::string ack_body;
};

}  // namespace sb::messaging
