#pragma once
// What happens to an agent's reply before it reaches a chat: internal spans are removed,
// the target chat must be one the namespace may address, and whether the platform can
// show a typing indicator while the agent works.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/messaging/inbound.hpp"
#include "runtime/routing/routing_table.hpp"

namespace sb::routing {

// Removes <internal>...</internal> spans (the agent's notes to itself). Rules:
//  - tags match ASCII-case-insensitively and may carry whitespace or attributes before
//    '>' ("<Internal>", "<internal reason=x>", "</INTERNAL >"); "<internals>" is no tag;
//  - spans nest: the text is hidden until the closing tag that balances the first opening;
//  - an unterminated span hides everything to the end (fail closed: notes never leak),
//    as does an opening tag without its '>';
//  - a closing tag with no open span is removed, the text around it kept;
//  - the whitespace around a removed span collapses to one separator ("\n\n" if it held a
//    blank line, "\n" if a line break, " " if any whitespace, nothing otherwise) and the
//    result is trimmed at both ends.
// nullopt when nothing is left to send (the reply is dropped).
std::optional<std::string> strip_internal(std::string_view text);

// Whether namespace `namespace_id` may send to `target_jid`: the main namespace to any
// well-formed chat JID, others only to JIDs mapped to them and their own local chat
// ("local:{name}").
struct AddressDecision {
  bool allowed = false;
  // "main", "own_chat", "unknown_namespace", "invalid_jid", "foreign_chat"
  std::string_view reason;
};
AddressDecision may_address(const RoutingTable& table, std::string_view namespace_id, std::string_view target_jid);

// Typing indicators per platform (a pure table; the senders build the requests).
struct TypingSupport {
  bool supported = false;
  // How long one indicator shows: a busy agent's indicator is re-sent before it expires.
  std::chrono::seconds lasts{0};
  // WhatsApp ties the indicator to the inbound message (its id marks it read).
  bool needs_inbound_message_id = false;
  std::string_view api;  // the platform call, for logs and docs
};
TypingSupport typing_support(messaging::ChannelKind kind);
// By chat JID; "local:" and unknown prefixes have none.
TypingSupport typing_support_for_jid(std::string_view jid);

}  // namespace sb::routing
