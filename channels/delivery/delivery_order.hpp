#pragma once
// Per-chat ordering of one bot's outbox: a row is never sent while an earlier row to
// the same chat is still undelivered (waiting for its retry), so split replies and
// consecutive answers arrive in order. Rows are offered in id (enqueue) order; the
// gate says which to send now and when the earliest held row becomes due. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace sb::channels::delivery {

class DeliveryOrder {
 public:
  explicit DeliveryOrder(int64_t now_ms) : now_ms_(now_ms) {}

  // Offer the next pending row (ids ascending). True: send it now. False: it waits,
  // because the bot is paused, an earlier row of its chat waits, or it is not due yet
  // (then it holds its chat until `next_attempt_at_ms`).
  bool admit(const std::string& chat_jid, int64_t next_attempt_at_ms);
  // The row just sent to `chat_jid` was not delivered and retries at `until_ms`: the
  // chat's later rows wait for it.
  void hold(const std::string& chat_jid, int64_t until_ms);
  // The platform asked the whole bot to wait (429, an exhausted rate-limit bucket).
  void pause(int64_t until_ms);
  bool paused() const { return paused_until_ms_ > now_ms_; }

  // When to look again for the rows held so far (the earliest held row, but not before
  // a pause ends); nullopt when nothing waits.
  std::optional<int64_t> next_due() const;

 private:
  int64_t now_ms_;
  int64_t paused_until_ms_ = 0;
  bool paused_rows_ = false;                       // rows were refused because of the pause
  std::unordered_map<std::string, int64_t> held_;  // chat -> when its head row is due
};

}  // namespace sb::channels::delivery
