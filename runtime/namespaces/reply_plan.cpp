#include "runtime/namespaces/reply_plan.hpp"

#include <algorithm>

#include "runtime/core/backoff.hpp"
#include "runtime/core/utf8.hpp"
#include "runtime/messaging/inbound.hpp"
#include "runtime/routing/reply_rules.hpp"

namespace sb::namespaces {

ReplyPlan plan_reply(const routing::RoutingTable& table, std::string_view namespace_id, std::string_view turn_chat,
                     std::string_view out_text, std::string_view out_chat_jid) {
  ReplyPlan plan;
  plan.target_jid = std::string(out_chat_jid.empty() ? turn_chat : out_chat_jid);
  auto text = routing::strip_internal(out_text);
  if (!text) return plan;  // drop_empty
  plan.text = std::move(*text);
  if (plan.target_jid != turn_chat) {
    auto decision = routing::may_address(table, namespace_id, plan.target_jid);
    plan.reason = decision.reason;
    if (!decision.allowed) {
      plan.action = ReplyPlan::Action::denied;
      return plan;
    }
  }
  plan.action = plan.target_jid.starts_with("local:") ? ReplyPlan::Action::local : ReplyPlan::Action::platform;
  return plan;
}

std::optional<std::string> choose_bot(std::string_view target_jid, std::string_view latest_bot_id,
                                      const std::vector<BotChoice>& bots) {
  auto jid = messaging::parse_jid(target_jid);
  if (!jid) return std::nullopt;
  if (!latest_bot_id.empty()) {
    for (const auto& b : bots)
      if (b.id == latest_bot_id && b.kind == jid->kind && b.can_send) return b.id;
  }
  for (const auto& b : bots)
    if (b.kind == jid->kind && b.can_send) return b.id;
  return std::nullopt;
}

std::string reply_to_for(const messaging::StoredMessage& last) {
  if (last.channel == "discord" || last.channel == "slack") return last.reply_ref;
  if ((last.channel == "telegram" || last.channel == "whatsapp") && last.is_group) return last.message_ref;
  return {};
}

std::string reply_idempotency_key(std::string_view namespace_id, int64_t last_inbound_id, std::size_t n) {
  return std::string(namespace_id) + ":" + std::to_string(last_inbound_id) + ":" + std::to_string(n);
}

std::string format_seconds(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  const auto tenths = (ms + 50) / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

std::string restarting_line(uint32_t attempt) {
  return "[squadbox] agent container restarting after a crash (attempt " + std::to_string(attempt) + ")";
}

std::string down_line(std::string_view reason, std::chrono::milliseconds retry_in) {
  std::string why(reason.empty() ? "unknown error" : reason);
  if (why.size() > 200) why = why.substr(0, 200) + "...";
  return "[squadbox] agent container is down: " + why + "; retrying in " + format_seconds(retry_in);
}

std::string down_idle_line(std::string_view reason) {
  std::string why(reason.empty() ? "unknown error" : reason);
  if (why.size() > 200) why = why.substr(0, 200) + "...";
  return "[squadbox] agent container is down: " + why + "; the next message starts a new one";
}

std::string gave_up_line(std::string_view error) {
  std::string why(error.empty() ? "turn failed" : error);
  if (why.size() > 200) why = why.substr(0, 200) + "...";
  return "[squadbox] the agent could not answer (" + why + "); the message was dropped";
}

std::string agent_failure_line(std::string_view error) {
  std::string line(error.empty() ? "[squadbox] the agent could not answer" : error);
  for (char& c : line)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return utf8::truncate(line, 300);
}

std::chrono::milliseconds start_retry_delay(std::chrono::milliseconds base, uint32_t streak) {
  constexpr std::chrono::milliseconds kMax{5 * 60 * 1000};
  return backoff_delay(std::max(base, std::chrono::milliseconds(1)), streak, std::max(kMax, base));
}

}  // namespace sb::namespaces
