#pragma once
// The scheduler's earliest-deadline structure: one (due time, task id) entry per task,
// set (insert or move) and erase by id, peek the earliest, pop every entry due by now.
// Compact for 100k tasks: task ids (the store's UUID v4s) are packed into 16 bytes; an
// indexed binary heap of (due, slot) and an open-addressing id -> slot table take about
// 50 bytes per entry (memory_bytes()). Pure; not thread-safe (one actor owns it).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::schedule {

class DeadlineQueue {
 public:
  struct Entry {
    std::string task_id;
    int64_t due_ms = 0;
    bool operator==(const Entry&) const = default;
  };

  // Inserts the task or moves its deadline. False (nothing changes): the id is not a
  // canonical lowercase UUID ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx").
  bool set(std::string_view task_id, int64_t due_ms);
  // False: the task had no entry.
  bool erase(std::string_view task_id);
  std::optional<int64_t> due_of(std::string_view task_id) const;
  // The earliest entry (ties: either); nullopt when empty.
  std::optional<Entry> earliest() const;
  std::optional<int64_t> earliest_due() const;
  // Removes and returns every entry with due <= now_ms, earliest first.
  std::vector<Entry> pop_due(int64_t now_ms);

  std::size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }
  void clear();
  void reserve(std::size_t n);
  // Bytes held by the structure (capacities), for the metrics and the benchmark.
  std::size_t memory_bytes() const;

 private:
  using Key = std::array<uint8_t, 16>;
  static constexpr uint32_t kEmpty = UINT32_MAX;

  struct HeapItem {
    int64_t due_ms;
    uint32_t slot;
  };
  struct Slot {
    Key key;
    uint32_t heap_pos;
  };

  static std::optional<Key> pack(std::string_view id);
  static std::string unpack(const Key& key);
  static std::size_t hash(const Key& key);

  // The table position holding `key`'s slot, or the empty position where it would go.
  std::size_t find_position(const Key& key) const;
  void grow_table();
  void remove_from_table(std::size_t pos);
  void erase_slot(uint32_t slot);

  void place(std::size_t pos, HeapItem item);
  void sift_up(std::size_t pos);
  void sift_down(std::size_t pos);
  void remove_heap_at(std::size_t pos);

  std::vector<HeapItem> heap_;
  std::vector<Slot> slots_;      // dense; slot i belongs to heap_[slots_[i].heap_pos]
  std::vector<uint32_t> table_;  // open addressing (linear probing), slot index or kEmpty
};

}  // namespace sb::schedule
