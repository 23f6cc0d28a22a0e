#include "channels/delivery/delivery_order.hpp"

#include <algorithm>

namespace sb::channels::delivery {

bool DeliveryOrder::admit(const std::string& chat_jid, int64_t next_attempt_at_ms) {
  if (held_.count(chat_jid) != 0) return false;
  if (next_attempt_at_ms > now_ms_) {
    held_.emplace(chat_jid, next_attempt_at_ms);
    return false;
  }
  if (paused()) {
    // Due, but the bot waits: the chat's later rows must not overtake it afterwards.
    held_.emplace(chat_jid, paused_until_ms_);
    paused_rows_ = true;
    return false;
  }
  return true;
}

void DeliveryOrder::hold(const std::string& chat_jid, int64_t until_ms) {
  auto [it, inserted] = held_.emplace(chat_jid, until_ms);
  if (!inserted) it->second = std::min(it->second, until_ms);
}

void DeliveryOrder::pause(int64_t until_ms) {
  paused_until_ms_ = std::max(paused_until_ms_, until_ms);
}

std::optional<int64_t> DeliveryOrder::next_due() const {
  std::optional<int64_t> earliest;
  for (const auto& [chat, at] : held_) earliest = earliest ? std::min(*earliest, at) : at;
  if (earliest && paused()) earliest = std::max(*earliest, paused_until_ms_);
  if (!earliest && paused_rows_) earliest = paused_until_ms_;
  return earliest;
}

}  // namespace sb::channels::delivery
