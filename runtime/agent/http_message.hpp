#pragma once
// HTTP/1.1 on the wire, pure: building a request and an incremental response parser
// (Content-Length, chunked, or read-to-EOF bodies). The agent's own small client talks
// to the credential proxy's unix socket with it (unix_http.hpp does the I/O); no
// Boost inside the static agent.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/core/result.hpp"

namespace sb::agent {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// `METHOD target HTTP/1.1`, the headers, `content-length` (always, from body) and the
// body. "http.bad_request" if a target, name or value holds CR, LF or NUL (header
// injection from a hostile env value), a name is not a token, or the target does not
// start with '/'.
Result<std::string> build_http_request(std::string_view method, std::string_view target, const HttpHeaders& headers,
                                       std::string_view body);

struct HttpResponse {
  int status = 0;
  std::string reason;
  HttpHeaders headers;  // names lower-cased, values trimmed
  std::string body;     // de-chunked
  // First value of a header (name in lower case).
  std::optional<std::string> header(std::string_view lower_name) const;
};

// Feed bytes as they arrive, in any split. Error codes: "http.malformed" (not HTTP,
// bad status line, header, length or chunk framing), "http.too_large" (head or body
// over the limits), "http.truncated" (EOF before the message was complete).
// Interim 1xx responses are skipped.
class HttpResponseParser {
 public:
  enum class State { need_more, done, failed };

  explicit HttpResponseParser(std::size_t max_body = 8u << 20, std::size_t max_head = 64u << 10)
      : max_body_(max_body), max_head_(max_head) {}

  State feed(std::string_view data);
  // The peer closed the connection: completes a read-to-EOF body, else truncated.
  State finish();

  State state() const { return state_; }
  const HttpResponse& response() const { return response_; }
  HttpResponse take_response() { return std::move(response_); }
  const Error& error() const { return error_; }
  // Bytes received past the end of a complete response: nobody asked for them, so the
  // connection cannot carry another exchange.
  bool has_excess() const { return state_ == State::done && pos_ < buf_.size(); }

 private:
  enum class Phase { status_line, headers, fixed_body, chunk_size, chunk_data, chunk_crlf, trailers, until_eof, done };

  State step();  // parses as much of buf_ as possible
  std::optional<std::string_view> take_line();
  State fail(std::string code, std::string message);
  State start_body();
  State append_body(std::string_view bytes);

  std::size_t max_body_;
  std::size_t max_head_;
  State state_ = State::need_more;
  Phase phase_ = Phase::status_line;
  std::string buf_;
  std::size_t pos_ = 0;         // parsed up to here in buf_
  std::size_t head_bytes_ = 0;  // bytes of status line + headers so far
  std::size_t remaining_ = 0;   // fixed_body / chunk_data bytes still to come
  HttpResponse response_;
  Error error_;
};

}  // namespace sb::agent
