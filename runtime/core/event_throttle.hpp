#pragma once
// Aggregation of like security events (rejected webhooks, proxy refusals) so that a
// flood costs the audit log a bounded number of rows: per key and interval, the first
// event is recorded and the rest are only counted; when the interval ends, one summary
// carries the count and the first event's payload. Pure: the caller passes the time.
// Not thread-safe.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sb {

template <class Payload>
class EventThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::chrono::milliseconds interval{60000};
    // Distinct keys held at once; beyond it, new keys share one overflow window (key
    // kOverflowKey), so that a stranger choosing keys (remote addresses) cannot grow it.
    size_t max_keys = 4096;
  };

  static inline const std::string kOverflowKey = "*";

  enum class Verdict { record, suppress };

  // A window that ended having suppressed events.
  struct Summary {
    std::string key;
    uint64_t suppressed = 0;
    Clock::time_point window_start;
    Payload first;  // the event that opened the window
  };

  explicit EventThrottle(Options options) : options_(options) {}

  // record: the first event of `key` (or of the overflow window) in its current window:
  // the caller writes it; suppress: counted for the window's summary. A window that has
  // ended keeps counting until take_ended collects it (callers do so periodically).
  Verdict offer(const std::string& key, Clock::time_point now, const Payload& payload) {
    auto it = windows_.find(key);
    if (it == windows_.end()) {
      const std::string& slot = windows_.size() >= options_.max_keys ? kOverflowKey : key;
      auto [window, fresh] = windows_.try_emplace(slot, Window{now, 0, payload});
      if (fresh) return Verdict::record;
      it = window;
    }
    ++it->second.suppressed;
    return Verdict::suppress;
  }

  // Windows that have ended by `now`: their summaries (those that suppressed anything);
  // the windows are forgotten, so the next event of a key is recorded again.
  std::vector<Summary> take_ended(Clock::time_point now) {
    std::vector<Summary> out;
    for (auto it = windows_.begin(); it != windows_.end();) {
      if (now - it->second.start < options_.interval) {
        ++it;
        continue;
      }
      if (it->second.suppressed > 0)
        out.push_back(Summary{it->first, it->second.suppressed, it->second.start, std::move(it->second.first)});
      it = windows_.erase(it);
    }
    return out;
  }

  // Every window, ended or not (at shutdown).
  std::vector<Summary> take_all() {
    std::vector<Summary> out;
    for (auto& [key, w] : windows_)
      if (w.suppressed > 0) out.push_back(Summary{key, w.suppressed, w.start, std::move(w.first)});
    windows_.clear();
    return out;
  }

  size_t keys() const { return windows_.size(); }
  const Options& options() const { return options_; }

 private:
  struct Window {
    Clock::time_point start;
    uint64_t suppressed = 0;
    Payload first;
  };
  Options options_;
  std::map<std::string, Window> windows_;
};

}  // namespace sb
