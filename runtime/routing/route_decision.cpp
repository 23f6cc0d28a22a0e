#include "runtime/routing/route_decision.hpp"

#include "runtime/routing/trigger.hpp"

namespace sb::routing {
namespace {

RouteDecision drop(DropReason reason) {
  RouteDecision d;
  d.reason = reason;
  return d;
}

}  // namespace

MessageView view_of(const messaging::InboundMessage& m) {
  return MessageView{
      messaging::channel_name(m.channel), m.bot, m.chat_jid, m.sender_id, m.text, m.is_group, m.mentions_bot};
}

std::string_view reason_code(DropReason reason) {
  switch (reason) {
    case DropReason::blocked_sender: return "blocked_sender";
    case DropReason::unmapped_ignored: return "unmapped_ignored";
    case DropReason::no_trigger: return "no_trigger";
    case DropReason::unknown_namespace: return "unknown_namespace";
  }
  return "unknown";
}

RouteDecision decide(const RoutingTable& table, const MessageView& m) {
  if (!table.sender_allowed(m.channel, m.bot, m.sender_id)) return drop(DropReason::blocked_sender);

  const NamespaceEntry* target = nullptr;
  bool via_default = false;
  if (m.chat_jid.starts_with(kLocalJidPrefix)) {
    // The local chat addresses its namespace by name; it has no mapping rows.
    target = table.find_namespace_by_name(m.chat_jid.substr(kLocalJidPrefix.size()));
    if (!target) return drop(DropReason::unknown_namespace);
  } else if (auto mapped = table.lookup_jid(m.chat_jid); mapped.mapped) {
    target = mapped.target;
    if (!target) return drop(DropReason::unknown_namespace);
  } else {
    if (table.default_policy().kind == DefaultPolicy::Kind::ignore) return drop(DropReason::unmapped_ignored);
    target = table.default_namespace();
    if (!target) return drop(DropReason::unknown_namespace);
    via_default = true;
  }

  const bool trigger_present = m.mentions_bot || contains_trigger(m.text, target->folded_trigger);
  if (m.is_group && target->requires_trigger && !trigger_present) return drop(DropReason::no_trigger);

  RouteDecision d;
  d.deliver = true;
  d.namespace_id = target->id;
  d.trigger_present = trigger_present;
  d.via_default = via_default;
  return d;
}

}  // namespace sb::routing
