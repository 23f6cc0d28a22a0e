#include "runtime/namespaces/turn_queue.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <utility>

namespace sb::namespaces {
namespace {

void append_escaped(std::string& out, std::string_view s, bool attribute) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += attribute ? "&quot;" : "\""; break;
      case '\'': out += attribute ? "&apos;" : "'"; break;
      default: out += c;
    }
  }
}

void append_attribute(std::string& out, std::string_view name, std::string_view value) {
  out += ' ';
  out += name;
  out += "=\"";
  append_escaped(out, value, true);
  out += '"';
}

// Howard Hinnant's civil_from_days: days since 1970-01-01 -> (year, month, day), valid
// for the whole int64 millisecond range that matters; no time zone, no libc state.
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
}

Error invalid(std::string message) {
  return make_error("turn_queue.invalid", std::move(message));
}

}  // namespace

std::string format_utc_millis(int64_t epoch_ms) {
  // Floor division, so times before 1970 render as the right day and a positive ms part.
  constexpr int64_t kDayMs = 86400000;
  int64_t days = epoch_ms / kDayMs;
  int64_t rest = epoch_ms % kDayMs;
  if (rest < 0) {
    rest += kDayMs;
    --days;
  }
  int64_t year = 0;
  unsigned month = 0, day = 0;
  civil_from_days(days, year, month, day);
  const auto ms = static_cast<unsigned>(rest % 1000);
  const auto secs = static_cast<unsigned>(rest / 1000);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", static_cast<long long>(year), month, day,
                secs / 3600, secs / 60 % 60, secs % 60, ms);
  return buf;
}

std::string format_turn_input(std::string_view chat_jid, const std::vector<PendingMessage>& messages) {
  std::string out;
  std::size_t size = 32 + chat_jid.size();
  for (const auto& m : messages) size += 96 + m.sender_name.size() + m.sender_id.size() + m.text.size();
  out.reserve(size);
  out += "<messages";
  append_attribute(out, "chat", chat_jid);
  out += ">\n";
  for (const auto& m : messages) {
    out += "<message";
    append_attribute(out, "id", std::to_string(m.id));
    append_attribute(out, "sender", m.sender_name.empty() ? m.sender_id : m.sender_name);
    append_attribute(out, "sender_id", m.sender_id);
    append_attribute(out, "time", format_utc_millis(m.timestamp_ms));
    out += '>';
    append_escaped(out, m.text, false);
    out += "</message>\n";
  }
  out += "</messages>\n";
  return out;
}

TurnQueue::TurnQueue(int64_t start_cursor, bool any_order)
    : cursor_(std::max<int64_t>(start_cursor, 0)),
      last_accepted_(cursor_),
      last_delivered_(cursor_),
      any_order_(any_order),
      floor_(cursor_) {}

bool TurnQueue::refuses(int64_t id) const {
  if (!any_order_) return id <= last_accepted_;
  return id <= floor_ || seen_.count(id) > 0;
}

Status TurnQueue::push(PendingMessage message) {
  if (message.id <= 0) return invalid("id must be > 0");
  if (message.chat_jid.empty()) return invalid("chat_jid is empty");
  if (refuses(message.id)) {
    return make_error("turn_queue.duplicate", "id " + std::to_string(message.id) + " was accepted before");
  }
  last_accepted_ = std::max(last_accepted_, message.id);
  if (any_order_) {
    seen_.insert(message.id);
    if (seen_.size() > kSeenLimit) {
      floor_ = *seen_.begin();
      seen_.erase(seen_.begin());
    }
  }
  const uint64_t seq = next_seq_++;
  done_.emplace_back(message.id, false);
  auto [it, inserted] = chats_.try_emplace(message.chat_jid);
  (void)inserted;
  Chat& chat = it->second;
  // A chat whose turn is running is listed again only once that turn ends (turn_done
  // or turn_failed), so one chat never has two turns at once.
  if (!chat.ready && message.chat_jid != running_chat_) {
    chat.ready = true;
    ready_.push_back(message.chat_jid);
  }
  // In any order, a late message takes its place by id among the chat's waiting ones.
  auto at = chat.entries.end();
  if (any_order_)
    while (at != chat.entries.begin() && std::prev(at)->message.id > message.id) --at;
  chat.entries.insert(at, Entry{std::move(message), seq});
  ++pending_;
  return {};
}

Result<Turn> TurnQueue::next_turn(std::size_t max_batch) {
  if (max_batch == 0) return invalid("max_batch must be > 0");
  if (busy_) return make_error("turn_queue.busy", "a turn is running for " + running_chat_);
  if (ready_.empty()) return make_error("turn_queue.empty", "no pending messages");
  std::string jid = std::move(ready_.front());
  ready_.pop_front();
  Chat& chat = chats_.at(jid);
  chat.ready = false;
  std::size_t n = std::min(max_batch, chat.entries.size());
  // A batch handed out before is formed again, never extended: its replies' idempotency
  // keys name its last id.
  if (const int64_t boundary = chat.entries.front().message.turn_last_id; boundary > 0) {
    std::size_t same = 0;
    while (same < chat.entries.size() && chat.entries[same].message.id <= boundary) ++same;
    n = same;
  }
  Turn turn;
  turn.chat_jid = jid;
  turn.messages.reserve(n);
  running_.clear();
  running_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    running_.push_back(std::move(chat.entries.front()));
    chat.entries.pop_front();
    turn.messages.push_back(running_.back().message);
  }
  pending_ -= n;
  turn.first_id = turn.messages.front().id;
  turn.last_id = turn.messages.back().id;
  turn.boundary_known = std::all_of(turn.messages.begin(), turn.messages.end(),
                                    [&](const PendingMessage& m) { return m.turn_last_id == turn.last_id; });
  turn.input = format_turn_input(jid, turn.messages);
  last_delivered_ = std::max(last_delivered_, turn.last_id);
  busy_ = true;
  running_chat_ = std::move(jid);
  return turn;
}

Status TurnQueue::turn_done() {
  if (!busy_) return make_error("turn_queue.not_busy", "turn_done without a running turn");
  for (const auto& e : running_) done_[e.seq - done_base_].second = true;
  while (!done_.empty() && done_.front().second) {
    cursor_ = done_.front().first;
    done_.pop_front();
    ++done_base_;
  }
  running_.clear();
  busy_ = false;
  std::string jid = std::move(running_chat_);
  running_chat_.clear();
  auto it = chats_.find(jid);
  if (it->second.entries.empty()) {
    chats_.erase(it);
  } else {
    // Messages that arrived during the turn: the chat queues behind the others (round robin).
    it->second.ready = true;
    ready_.push_back(std::move(jid));
  }
  return {};
}

Status TurnQueue::turn_failed() {
  if (!busy_) return make_error("turn_queue.not_busy", "turn_failed without a running turn");
  Chat& chat = chats_.at(running_chat_);
  pending_ += running_.size();
  const int64_t boundary = running_.empty() ? 0 : running_.back().message.id;
  for (auto& e : running_) e.message.turn_last_id = boundary;
  for (auto it = running_.rbegin(); it != running_.rend(); ++it) chat.entries.push_front(std::move(*it));
  running_.clear();
  busy_ = false;
  // Its messages are the oldest it has and were due: the chat goes first again.
  chat.ready = true;
  ready_.push_front(std::move(running_chat_));
  running_chat_.clear();
  return {};
}

std::size_t TurnQueue::pending(std::string_view chat_jid) const {
  auto it = chats_.find(std::string(chat_jid));
  return it == chats_.end() ? 0 : it->second.entries.size();
}

}  // namespace sb::namespaces
