#include "runtime/core/throttled_audit_sink.hpp"

#include <pthread.h>

namespace sb {

std::string aggregated_detail(const std::string& detail, uint64_t count, std::chrono::milliseconds interval) {
  const std::string extra =
      "\"aggregated\":true,\"count\":" + std::to_string(count) + ",\"interval_ms\":" + std::to_string(interval.count());
  const size_t close = detail.rfind('}');
  if (close == std::string::npos) return "{" + extra + "}";
  std::string out = detail.substr(0, close);
  const size_t open = out.find('{');
  const bool empty = open != std::string::npos && out.find_first_not_of(" \t\r\n", open + 1) == std::string::npos;
  out += empty ? extra : "," + extra;
  out += detail.substr(close);
  return out;
}

ThrottledAuditSink::ThrottledAuditSink(AuditSink downstream, Throttle::Options options)
    : downstream_(std::move(downstream)), interval_(options.interval), throttle_(options) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sb-audit-agg");
    run();
  });
}

ThrottledAuditSink::~ThrottledAuditSink() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  std::vector<Throttle::Summary> open;
  {
    std::lock_guard lock(mutex_);
    open = throttle_.take_all();
  }
  emit(std::move(open));
}

bool ThrottledAuditSink::offer(const std::string& key, AuditRecord record) {
  // Ended windows are collected by the thread (every interval/4), not here: a flood calls
  // this per request, and walking every window each time would cost O(keys) per call.
  Throttle::Verdict verdict;
  {
    std::lock_guard lock(mutex_);
    verdict = throttle_.offer(key, Throttle::Clock::now(), record);
  }
  if (verdict == Throttle::Verdict::suppress) return false;
  if (downstream_) downstream_(std::move(record));
  return true;
}

void ThrottledAuditSink::flush_ended() {
  std::vector<Throttle::Summary> ended;
  {
    std::lock_guard lock(mutex_);
    ended = throttle_.take_ended(Throttle::Clock::now());
  }
  emit(std::move(ended));
}

void ThrottledAuditSink::emit(std::vector<Throttle::Summary> summaries) {
  if (!downstream_) return;
  for (auto& s : summaries) {
    AuditRecord summary = std::move(s.first);
    if (s.key == Throttle::kOverflowKey) summary.subject = "*";  // many keys shared this window
    summary.detail = aggregated_detail(summary.detail, s.suppressed, interval_);
    downstream_(std::move(summary));
  }
}

void ThrottledAuditSink::run() {
  std::unique_lock lock(mutex_);
  const auto tick = std::max(interval_ / 4, std::chrono::milliseconds(10));
  while (!stopping_) {
    wake_.wait_for(lock, tick, [this] { return stopping_; });
    if (stopping_) return;
    lock.unlock();
    flush_ended();
    lock.lock();
  }
}

}  // namespace sb
