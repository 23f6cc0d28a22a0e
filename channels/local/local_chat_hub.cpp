#include "channels/local/local_chat_hub.hpp"

namespace sb::channels::local {

std::string local_jid(const std::string& namespace_name) {
  return "local:" + namespace_name;
}

LocalTurnReply& LocalChatHub::turn_locked(const std::string& jid, int64_t first_id, int64_t last_id) {
  for (auto it = turns_.rbegin(); it != turns_.rend(); ++it)
    if (it->jid == jid && it->first_id == first_id && it->last_id == last_id && !it->finished) return *it;
  if (turns_.size() >= kKeptTurns) turns_.pop_front();
  LocalTurnReply t;
  t.jid = jid;
  t.first_id = first_id;
  t.last_id = last_id;
  turns_.push_back(std::move(t));
  return turns_.back();
}

void LocalChatHub::add_reply(const std::string& jid, int64_t first_id, int64_t last_id, std::string text) {
  std::lock_guard lock(mutex_);
  turn_locked(jid, first_id, last_id).texts.push_back(std::move(text));
}

void LocalChatHub::finish_turn(const std::string& jid, int64_t first_id, int64_t last_id, std::string error) {
  {
    std::lock_guard lock(mutex_);
    auto& t = turn_locked(jid, first_id, last_id);
    t.error = std::move(error);
    t.finished = true;
  }
  changed_.notify_all();
}

std::optional<LocalTurnReply> LocalChatHub::wait(const std::string& jid, int64_t id,
                                                 std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // A turn that failed before it ran is retried: only a finished one answers.
    for (auto it = turns_.rbegin(); it != turns_.rend(); ++it)
      if (it->jid == jid && it->first_id <= id && id <= it->last_id && it->finished) return *it;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      for (auto it = turns_.rbegin(); it != turns_.rend(); ++it)
        if (it->jid == jid && it->first_id <= id && id <= it->last_id && it->finished) return *it;
      return std::nullopt;
    }
  }
}

std::size_t LocalChatHub::kept() const {
  std::lock_guard lock(mutex_);
  return turns_.size();
}

}  // namespace sb::channels::local
