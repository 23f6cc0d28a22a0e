#pragma once
// One HTTP/1.1 request at a time (one connection per request, http or https) that
// another thread can abort: sb::http::request is this without an interrupt. A Telegram
// long poll blocks for up to 50 s; shutdown must not wait for it, so interrupt() closes
// the socket of the request in flight. Boost stays in the .cpp.
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"
#include "runtime/http/client.hpp"
#include "runtime/http/message.hpp"

namespace sb::http {

class InterruptibleRequest {
 public:
  // Blocks like sb::http::request (same errors), plus "http.interrupted" once
  // interrupt() was called: the running request ends at once, and every later one
  // fails immediately.
  Result<Response> perform(std::string_view method, std::string_view url, Headers headers, std::string body,
                           const ClientOptions& options);

  // Thread-safe; idempotent.
  void interrupt();
  bool interrupted() const;

 private:
  friend struct InterruptScope;
  mutable std::mutex mutex_;
  bool interrupted_ = false;
  // Set while perform() runs: hands the abort to the request's own I/O loop.
  std::function<void()> abort_;
};

}  // namespace sb::http
