#pragma once
// One namespace's queue of pending inbound messages and its agent's turns (issue 6,
// "Router and namespace actors"; docs/namespace-queue.md "Turns and concurrency").
// Pure logic, no I/O: the Namespace actor is a thin shell around it.
//
//   push(m)           a routed message joins its chat's queue (ids strictly increasing;
//                     a replayed or duplicate id is refused, so a replay after a restart
//                     is harmless)
//   next_turn(n)      when idle: up to n of one chat's oldest pending messages become the
//                     agent's next turn (the queue is then busy); chats take turns round
//                     robin; a chat whose oldest message was handed out before gets that
//                     same batch again (PendingMessage::turn_last_id)
//   turn_done()       the turn finished: its messages count as delivered
//   turn_failed()     the turn did not run: its messages go back to the head of their chat
//   restart_cursor()  every inbound id <= it has completed a turn: what the router persists
#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/core/result.hpp"

namespace sb::namespaces {

struct PendingMessage {
  int64_t id = 0;  // inbound_messages.id (> 0)
  std::string chat_jid;
  std::string sender_id;
  std::string sender_name;
  std::string text;
  int64_t timestamp_ms = 0;  // the platform's time, Unix epoch milliseconds
  // The last id of the turn this message was handed to before (persisted on its row when
  // the turn started, or kept by turn_failed); 0 = never handed out. A turn that begins
  // with such a message ends exactly there, so a replayed or retried turn is the same
  // batch and its replies keep their idempotency keys (docs/failure-behaviour.md).
  int64_t turn_last_id = 0;
};

struct Turn {
  std::string chat_jid;
  std::vector<PendingMessage> messages;  // oldest first, all of chat_jid
  std::string input;                     // format_turn_input(chat_jid, messages)
  int64_t first_id = 0;
  int64_t last_id = 0;
  // Every message of the turn already carried last_id as its boundary (a replay or a
  // retry of a boundary that is stored): nothing new to persist.
  bool boundary_known = false;
};

// The agent's input for a turn, a stable text format (documented in
// docs/namespace-queue.md):
//   <messages chat="slack:C1">
//   <message id="12" sender="Alice" sender_id="U1" time="2026-11-27T04:26:44.123Z">hi</message>
//   </messages>
// Attribute values and text escape & < > " (and ' in attributes), so no message can
// close its own element or forge another sender.
std::string format_turn_input(std::string_view chat_jid, const std::vector<PendingMessage>& messages);
// Unix epoch milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC, proleptic Gregorian).
std::string format_utc_millis(int64_t epoch_ms);

class TurnQueue {
 public:
  // start_cursor: the persisted restart cursor; ids <= it were delivered before.
  // any_order: ids may arrive in any order (a cluster: batches forwarded by several nodes
  // and rows replayed from the table interleave). A duplicate is then an id this queue
  // has accepted before (it remembers the last kSeenLimit of them), not any id below
  // the highest; a chat's messages are kept in id order.
  explicit TurnQueue(int64_t start_cursor = 0, bool any_order = false);

  static constexpr std::size_t kSeenLimit = 200000;

  // Errors: "turn_queue.invalid" (id <= 0, empty chat JID), "turn_queue.duplicate"
  // (refuses(id)).
  Status push(PendingMessage message);
  // Would push() refuse this id as a duplicate? In order: id <= the highest id accepted
  // or the start cursor. In any order: an id accepted before, or at most the start
  // cursor (or the oldest id it forgot).
  bool refuses(int64_t id) const;

  // Errors: "turn_queue.busy" (a turn is running), "turn_queue.empty" (nothing pending),
  // "turn_queue.invalid" (max_batch == 0).
  Result<Turn> next_turn(std::size_t max_batch);
  // Errors: "turn_queue.not_busy" (no turn is running).
  Status turn_done();
  Status turn_failed();

  bool busy() const { return busy_; }
  std::size_t pending() const { return pending_; }  // queued, not in the running turn
  std::size_t pending(std::string_view chat_jid) const;
  std::size_t chats_waiting() const { return ready_.size(); }
  const std::string& running_chat() const { return running_chat_; }  // "" when idle

  // The highest id handed to the agent in a turn so far (0 before any).
  int64_t last_delivered_id() const { return last_delivered_; }
  // Every accepted id <= restart_cursor() has completed a turn (turn_done): the router's
  // restart point; never moves backwards, never past a message still pending or running.
  int64_t restart_cursor() const { return cursor_; }
  int64_t last_accepted_id() const { return last_accepted_; }

 private:
  struct Entry {
    PendingMessage message;
    uint64_t seq = 0;  // arrival number, indexes done_
  };
  struct Chat {
    std::deque<Entry> entries;
    bool ready = false;  // listed in ready_
  };

  std::unordered_map<std::string, Chat> chats_;
  std::deque<std::string> ready_;  // chats with pending messages, in turn order
  std::size_t pending_ = 0;
  bool busy_ = false;
  std::string running_chat_;
  std::vector<Entry> running_;  // the running turn's messages (turn_failed puts them back)
  // Completion flags by arrival number from done_base_ on, with the ids; the front is
  // popped while done, which advances the cursor.
  std::deque<std::pair<int64_t, bool>> done_;
  uint64_t done_base_ = 0;
  uint64_t next_seq_ = 0;
  int64_t cursor_ = 0;
  int64_t last_accepted_ = 0;
  int64_t last_delivered_ = 0;
  bool any_order_ = false;
  std::set<int64_t> seen_;  // any_order: the accepted ids above floor_
  int64_t floor_ = 0;       // any_order: ids <= it are refused
};

}  // namespace sb::namespaces
