#pragma once
// Where one inbound platform message goes: the routing rules of REFERENCE §1, in order.
//   1. sender allowlist of the receiving bot      -> drop "blocked_sender"
//   2. the chat: "local:{name}" is that namespace's local chat; else its JID mapping;
//      else the default policy (ignore -> drop "unmapped_ignored")
//   3. the namespace must exist in the table      -> drop "unknown_namespace"
//   4. trigger rule: DMs never need it; a group chat of a namespace that requires it
//      must mention the bot or contain the trigger -> drop "no_trigger"
// docs/routing.md has the examples.
#include <string>
#include <string_view>

#include "runtime/messaging/inbound.hpp"
#include "runtime/routing/routing_table.hpp"

namespace sb::routing {

// The fields routing reads, borrowed from whichever message type the caller holds.
struct MessageView {
  std::string_view channel;  // "slack" | "discord" | "whatsapp" | "telegram" | "local"
  std::string_view bot;
  std::string_view chat_jid;
  std::string_view sender_id;
  std::string_view text;
  bool is_group = false;
  bool mentions_bot = false;
};

MessageView view_of(const messaging::InboundMessage& message);

// The local chat channel's JIDs: "local:{namespace name}".
inline constexpr std::string_view kLocalJidPrefix = "local:";
inline constexpr std::string_view kLocalChannel = "local";

enum class DropReason { blocked_sender, unmapped_ignored, no_trigger, unknown_namespace };
// "blocked_sender", "unmapped_ignored", "no_trigger", "unknown_namespace": stable codes
// for logs and the metric label.
std::string_view reason_code(DropReason reason);

struct RouteDecision {
  bool deliver = false;
  // deliver: the target namespace.
  std::string namespace_id;
  bool trigger_present = false;  // mentioned or trigger text found (also computed for DMs)
  bool via_default = false;      // the chat is unmapped and the default policy chose it
  // !deliver: why.
  DropReason reason = DropReason::unmapped_ignored;
};

RouteDecision decide(const RoutingTable& table, const MessageView& message);
inline RouteDecision decide(const RoutingTable& table, const messaging::InboundMessage& message) {
  return decide(table, view_of(message));
}

}  // namespace sb::routing
