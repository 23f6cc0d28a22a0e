#pragma once
// One blocking HTTP exchange at a time on a private thread, for the channel actors that
// connect out (the Telegram poller's long polls; the Discord Gateway's /gateway/bot and
// Slack's apps.connections.open). The answer goes to a callback on that thread, which
// forwards it to the actor as a message. stop() interrupts both a backoff wait and the
// request in flight, so an actor answers shutdown at once.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "runtime/http/client.hpp"
#include "runtime/http/interruptible_request.hpp"
#include "runtime/http/message.hpp"

namespace sb::actors {

struct HttpJob {
  std::chrono::milliseconds delay{0};  // wait this long first (backoff)
  std::uint64_t tag = 0;               // echoed in the answer: which call it answers
  std::string method, url;
  http::Headers headers;
  std::string body;
  http::ClientOptions client;
};

// What came back; error_code set when there was no HTTP answer.
struct HttpAnswer {
  int32_t status = 0;
  std::string body;
  http::Headers headers;
  std::string error_code, error_message;
  std::uint64_t tag = 0;  // the job's
};

class HttpWorker {
 public:
  using Deliver = std::function<void(HttpAnswer)>;
  explicit HttpWorker(Deliver deliver) : deliver_(std::move(deliver)), thread_([this] { run(); }) {}
  ~HttpWorker() { stop(); }  // no callback after it returns
  HttpWorker(const HttpWorker&) = delete;
  HttpWorker& operator=(const HttpWorker&) = delete;

  // Replaces a job that has not started yet; one runs at a time.
  void submit(HttpJob job);
  // Idempotent; returns once the thread has ended.
  void stop();

 private:
  void run();
  Deliver deliver_;
  http::InterruptibleRequest request_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<HttpJob> job_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace sb::actors
