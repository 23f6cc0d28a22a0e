#pragma once
// An open-loop load generator: requests go out on a fixed schedule (request i at
// start + i / rate) whatever the server answers, over N keep-alive connections. A request
// that finds no idle connection waits in a backlog; its latency still counts from its
// scheduled time, so a stalled server shows in the figures (no coordinated omission).
// One thread, epoll plus a timerfd armed for the next scheduled send.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sb::bench {

struct OpenLoopOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  double rate_per_s = 5000;
  int connections = 64;
  std::chrono::milliseconds drain_timeout{10000};  // after the last send, for answers
};

struct OpenLoopResult {
  uint64_t scheduled = 0;
  uint64_t answered_2xx = 0;
  uint64_t answered_other = 0;  // non-2xx answers
  uint64_t failed = 0;          // connection errors and answers missing at the drain deadline
  uint64_t reconnects = 0;
  uint64_t max_backlog = 0;         // most requests waiting for an idle connection at once
  double elapsed_s = 0;             // first scheduled send to last answer
  std::vector<int64_t> latency_ns;  // scheduled send -> whole answer read, answered requests
  std::string error;                // set when the run could not start (connect failed)
};

// Sends every request of `requests` (raw HTTP/1.1, keep-alive) once, on the schedule.
OpenLoopResult run_open_loop(const OpenLoopOptions& options, const std::vector<std::string>& requests);

struct LatencySummary {
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
};
// Nearest-rank percentiles; zeros when empty.
LatencySummary summarize(std::vector<int64_t> latency_ns);

// Length of the first complete HTTP/1.1 response at the start of `buffer` (0: not yet
// complete) and its status; -1 when the response cannot be framed (no Content-Length,
// chunked, garbage).
struct ResponseFrame {
  long length = 0;
  int status = 0;
  bool close = false;  // "Connection: close"
};
ResponseFrame frame_response(const std::string& buffer);

}  // namespace sb::bench
