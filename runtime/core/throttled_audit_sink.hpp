#pragma once
// An AuditSink in front of another for events a stranger or a container can cause at
// will (rejected webhooks, proxy refusals): EventThrottle per key, so one flood writes
// at most two rows per key and interval. The first event of a window goes through at
// once; when the window ends, a summary record repeats it with
// `"aggregated":true,"count":N,"interval_ms":I` added to its detail (N = events
// suppressed in the window). A background thread closes ended windows; the destructor
// writes the summaries still open. Thread-safe.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/core/audit_sink.hpp"
#include "runtime/core/event_throttle.hpp"

namespace sb {

class ThrottledAuditSink {
 public:
  ThrottledAuditSink(AuditSink downstream, EventThrottle<AuditRecord>::Options options);
  ~ThrottledAuditSink();
  ThrottledAuditSink(const ThrottledAuditSink&) = delete;
  ThrottledAuditSink& operator=(const ThrottledAuditSink&) = delete;

  // True when `record` was written (the caller may log it); false when only counted.
  bool offer(const std::string& key, AuditRecord record);
  // Writes the summaries of ended windows now (the thread does this every interval/4).
  void flush_ended();

 private:
  using Throttle = EventThrottle<AuditRecord>;
  void emit(std::vector<Throttle::Summary> summaries);
  void run();

  const AuditSink downstream_;
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  Throttle throttle_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// `detail` (a JSON object) with `"aggregated":true,"count":N,"interval_ms":I` appended.
std::string aggregated_detail(const std::string& detail, uint64_t count, std::chrono::milliseconds interval);

}  // namespace sb
