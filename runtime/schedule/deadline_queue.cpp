#include "runtime/schedule/deadline_queue.hpp"

namespace sb::schedule {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

constexpr bool is_dash_position(std::size_t i) {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

}  // namespace

std::optional<DeadlineQueue::Key> DeadlineQueue::pack(std::string_view id) {
  if (id.size() != 36) return std::nullopt;
  Key key{};
  std::size_t byte = 0;
  for (std::size_t i = 0; i < id.size();) {
    if (is_dash_position(i)) {
      if (id[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = hex_value(id[i]);
    const int lo = hex_value(id[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    key[byte++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return key;
}

std::string DeadlineQueue::unpack(const Key& key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[key[i] >> 4]);
    out.push_back(kHex[key[i] & 15]);
  }
  return out;
}

std::size_t DeadlineQueue::hash(const Key& key) {
  // UUID v4 bytes are random already; fold them (FNV-1a keeps non-random ids spread too).
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : key) h = (h ^ b) * 1099511628211ull;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

std::size_t DeadlineQueue::find_position(const Key& key) const {
  const std::size_t mask = table_.size() - 1;
  std::size_t pos = hash(key) & mask;
  while (table_[pos] != kEmpty && slots_[table_[pos]].key != key) pos = (pos + 1) & mask;
  return pos;
}

void DeadlineQueue::grow_table() {
  std::vector<uint32_t> old = std::move(table_);
  table_.assign(old.empty() ? 16 : old.size() * 2, kEmpty);
  for (uint32_t slot : old)
    if (slot != kEmpty) table_[find_position(slots_[slot].key)] = slot;
}

// Backward-shift deletion: later entries of the probe run move up, so no tombstones.
void DeadlineQueue::remove_from_table(std::size_t pos) {
  const std::size_t mask = table_.size() - 1;
  std::size_t hole = pos;
  std::size_t next = (hole + 1) & mask;
  while (table_[next] != kEmpty) {
    const std::size_t home = hash(slots_[table_[next]].key) & mask;
    // Move the entry into the hole unless its home lies cyclically in (hole, next].
    const bool stays = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
    if (!stays) {
      table_[hole] = table_[next];
      hole = next;
    }
    next = (next + 1) & mask;
  }
  table_[hole] = kEmpty;
}

void DeadlineQueue::place(std::size_t pos, HeapItem item) {
  heap_[pos] = item;
  slots_[item.slot].heap_pos = static_cast<uint32_t>(pos);
}

void DeadlineQueue::sift_up(std::size_t pos) {
  const HeapItem item = heap_[pos];
  while (pos > 0) {
    const std::size_t parent = (pos - 1) / 2;
    if (heap_[parent].due_ms <= item.due_ms) break;
    place(pos, heap_[parent]);
    pos = parent;
  }
  place(pos, item);
}

void DeadlineQueue::sift_down(std::size_t pos) {
  const HeapItem item = heap_[pos];
  const std::size_t n = heap_.size();
  while (true) {
    std::size_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1].due_ms < heap_[child].due_ms) ++child;
    if (item.due_ms <= heap_[child].due_ms) break;
    place(pos, heap_[child]);
    pos = child;
  }
  place(pos, item);
}

void DeadlineQueue::remove_heap_at(std::size_t pos) {
  const HeapItem last = heap_.back();
  heap_.pop_back();
  if (pos == heap_.size()) return;
  place(pos, last);
  sift_down(pos);
  sift_up(slots_[last.slot].heap_pos);
}

void DeadlineQueue::erase_slot(uint32_t slot) {
  remove_heap_at(slots_[slot].heap_pos);
  remove_from_table(find_position(slots_[slot].key));
  const auto last = static_cast<uint32_t>(slots_.size() - 1);
  if (slot != last) {
    // Keep slots dense: the last one takes the freed index.
    slots_[slot] = slots_[last];
    heap_[slots_[slot].heap_pos].slot = slot;
    table_[find_position(slots_[slot].key)] = slot;
  }
  slots_.pop_back();
}

bool DeadlineQueue::set(std::string_view task_id, int64_t due_ms) {
  auto key = pack(task_id);
  if (!key) return false;
  if ((slots_.size() + 1) * 2 > table_.size()) grow_table();
  const std::size_t pos = find_position(*key);
  if (table_[pos] != kEmpty) {
    const std::size_t at = slots_[table_[pos]].heap_pos;
    const int64_t before = heap_[at].due_ms;
    heap_[at].due_ms = due_ms;
    if (due_ms < before)
      sift_up(at);
    else if (due_ms > before)
      sift_down(at);
    return true;
  }
  const auto slot = static_cast<uint32_t>(slots_.size());
  slots_.push_back(Slot{*key, static_cast<uint32_t>(heap_.size())});
  table_[pos] = slot;
  heap_.push_back(HeapItem{due_ms, slot});
  sift_up(heap_.size() - 1);
  return true;
}

bool DeadlineQueue::erase(std::string_view task_id) {
  auto key = pack(task_id);
  if (!key || table_.empty()) return false;
  const std::size_t pos = find_position(*key);
  if (table_[pos] == kEmpty) return false;
  erase_slot(table_[pos]);
  return true;
}

std::optional<int64_t> DeadlineQueue::due_of(std::string_view task_id) const {
  auto key = pack(task_id);
  if (!key || table_.empty()) return std::nullopt;
  const std::size_t pos = find_position(*key);
  if (table_[pos] == kEmpty) return std::nullopt;
  return heap_[slots_[table_[pos]].heap_pos].due_ms;
}

std::optional<DeadlineQueue::Entry> DeadlineQueue::earliest() const {
  if (heap_.empty()) return std::nullopt;
  return Entry{unpack(slots_[heap_.front().slot].key), heap_.front().due_ms};
}

std::optional<int64_t> DeadlineQueue::earliest_due() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().due_ms;
}

std::vector<DeadlineQueue::Entry> DeadlineQueue::pop_due(int64_t now_ms) {
  std::vector<Entry> out;
  while (!heap_.empty() && heap_.front().due_ms <= now_ms) {
    const HeapItem top = heap_.front();
    out.push_back(Entry{unpack(slots_[top.slot].key), top.due_ms});
    erase_slot(top.slot);
  }
  return out;
}

void DeadlineQueue::clear() {
  heap_.clear();
  slots_.clear();
  std::fill(table_.begin(), table_.end(), kEmpty);
}

void DeadlineQueue::reserve(std::size_t n) {
  heap_.reserve(n);
  slots_.reserve(n);
  while (n * 2 > table_.size()) grow_table();
}

std::size_t DeadlineQueue::memory_bytes() const {
  return sizeof(*this) + heap_.capacity() * sizeof(HeapItem) + slots_.capacity() * sizeof(Slot) +
         table_.capacity() * sizeof(uint32_t);
}

}  // namespace sb::schedule
