#pragma once
// Replies of the local chat channel (JID "local:{namespace}", issue 6 "Local chat
// channel"). No platform carries them: the namespace actor hands each reply of a turn
// to this hub, and the handler of `POST /api/v1/chat/{namespace}` waits here for the
// turn that answered its message. Thread-safe; no actors, no I/O.
//
// A turn may finish before its waiter arrives (the handler learns its message's id only
// after the ingest committed it), so finished turns are kept for a while
// (kKeptTurns, newest first out last) and a late waiter still finds its answer.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sb::channels::local {

inline constexpr std::size_t kKeptTurns = 1024;

// "local:{namespace}"
std::string local_jid(const std::string& namespace_name);

struct LocalTurnReply {
  std::string jid;
  int64_t first_id = 0;  // the inbound ids the turn covered, inclusive
  int64_t last_id = 0;
  std::vector<std::string> texts;  // what the agent said, in order (internal spans stripped)
  std::string error;               // non-empty: the turn failed (or its container died)
  bool finished = false;
};

class LocalChatHub {
 public:
  // One reply of the running turn [first_id, last_id] of `jid`.
  void add_reply(const std::string& jid, int64_t first_id, int64_t last_id, std::string text);
  // The turn ended; `error` empty = it succeeded. Wakes its waiters.
  void finish_turn(const std::string& jid, int64_t first_id, int64_t last_id, std::string error = {});

  // Waits until the turn that covered inbound message `id` of `jid` has finished; nullopt
  // on timeout (with nothing finished). Replies added before the turn finished are part
  // of the answer.
  std::optional<LocalTurnReply> wait(const std::string& jid, int64_t id, std::chrono::milliseconds timeout);

  std::size_t kept() const;

 private:
  LocalTurnReply& turn_locked(const std::string& jid, int64_t first_id, int64_t last_id);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<LocalTurnReply> turns_;  // oldest first
};

}  // namespace sb::channels::local
