#include "runtime/agent/unix_http.hpp"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "runtime/core/text.hpp"

namespace sb::agent {
namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

Error timeout_error(std::chrono::milliseconds timeout, const char* during) {
  return make_error("http.timeout", std::string("no complete response within ") + std::to_string(timeout.count()) +
                                        " ms (" + during + ")");
}

// Waits for `events` on fd; false on deadline.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, ms_left(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return true;  // let the following call report the error
  }
}

// Readable while idle means the peer closed, reset or sent bytes nobody asked for.
bool idle_and_open(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

bool asks_to_close(const HttpResponse& r) {
  auto c = r.header("connection");
  if (!c) return false;
  // A comma-separated token list ("close", "keep-alive, Upgrade").
  std::string_view rest = *c;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    if (iequals(trim(rest.substr(0, comma), " \t"), "close")) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

Status UnixHttpClient::connect(Clock::time_point deadline, std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.empty() || socket_path_.size() >= sizeof addr.sun_path)
    return make_error("http.connect", "unix socket path is empty or too long: " + socket_path_);
  std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return make_error("http.connect", std::string("socket: ") + std::strerror(errno));
  // A unix socket connect never is "in progress": EAGAIN means the listener's backlog is
  // full, so try again shortly until the deadline.
  while (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return make_error("http.connect", "connect " + socket_path_ + ": " + std::strerror(errno));
    if (ms_left(deadline) == 0) return timeout_error(timeout, "connect");
    ::poll(nullptr, 0, 10);
  }
  fd_ = std::move(fd);
  ++connects_;
  return {};
}

Result<HttpResponse> UnixHttpClient::exchange(std::string_view request, std::chrono::milliseconds timeout,
                                              std::size_t max_body) {
  const auto deadline = Clock::now() + timeout;
  bool reused = fd_.valid() && idle_and_open(fd_.get());
  if (!reused) fd_.reset();
  for (int attempt = 0;; ++attempt) {
    if (!fd_.valid())
      if (auto st = connect(deadline, timeout); !st) return st.error();
    bool unanswered = false;
    auto r = exchange_once(request, deadline, timeout, max_body, unanswered);
    if (!r) fd_.reset();
    // The peer may close a kept connection just as a request goes out (its idle
    // timeout): nothing was answered, so the request is sent once more, on a new one.
    if (!r && unanswered && reused && attempt == 0) continue;
    return r;
  }
}

Result<HttpResponse> UnixHttpClient::exchange_once(std::string_view request, Clock::time_point deadline,
                                                   std::chrono::milliseconds timeout, std::size_t max_body,
                                                   bool& unanswered) {
  const int fd = fd_.get();
  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (!wait_fd(fd, POLLOUT, deadline)) return timeout_error(timeout, "sending the request");
      continue;
    }
    // The peer may have answered early (e.g. 413) and closed: try to read that answer.
    break;
  }

  HttpResponseParser parser(max_body);
  bool got_bytes = false;
  char buf[65536];
  while (true) {
    // Checked on every read, so a peer trickling bytes cannot stretch the deadline.
    if (Clock::now() >= deadline) return timeout_error(timeout, "reading the response");
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    HttpResponseParser::State st;
    bool eof = false;
    if (n > 0) {
      got_bytes = true;
      st = parser.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    } else if (n == 0 || (errno == ECONNRESET && parser.state() == HttpResponseParser::State::need_more)) {
      unanswered = !got_bytes;
      eof = true;
      st = parser.finish();
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN) {
      if (!wait_fd(fd, POLLIN, deadline)) return timeout_error(timeout, "waiting for the response");
      continue;
    } else {
      unanswered = !got_bytes;
      return make_error("http.io", std::string("recv: ") + std::strerror(errno));
    }
    if (st == HttpResponseParser::State::done) {
      const bool spoiled = parser.has_excess();
      HttpResponse response = parser.take_response();
      if (eof || spoiled || asks_to_close(response)) fd_.reset();
      return response;
    }
    if (st == HttpResponseParser::State::failed) return parser.error();
  }
}

}  // namespace sb::agent
