#include "runtime/agent/unix_http.hpp"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "runtime/core/fs.hpp"

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

}  // namespace

Result<HttpResponse> unix_http_exchange(const std::string& socket_path, std::string_view request,
                                        std::chrono::milliseconds timeout, std::size_t max_body) {
  const auto deadline = Clock::now() + timeout;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path)
    return make_error("http.connect", "unix socket path is empty or too long: " + socket_path);
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return make_error("http.connect", std::string("socket: ") + std::strerror(errno));
  // A unix socket connect never is "in progress": EAGAIN means the listener's backlog is
  // full, so try again shortly until the deadline.
  while (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return make_error("http.connect", "connect " + socket_path + ": " + std::strerror(errno));
    if (ms_left(deadline) == 0) return timeout_error(timeout, "connect");
    ::poll(nullptr, 0, 10);
  }

  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (!wait_fd(fd.get(), POLLOUT, deadline)) return timeout_error(timeout, "sending the request");
      continue;
    }
    // The peer may have answered early (e.g. 413) and closed: try to read that answer.
    break;
  }

  HttpResponseParser parser(max_body);
  char buf[65536];
  while (true) {
    // Checked on every read, so a peer trickling bytes cannot stretch the deadline.
    if (Clock::now() >= deadline) return timeout_error(timeout, "reading the response");
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    HttpResponseParser::State st;
    if (n > 0) {
      st = parser.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    } else if (n == 0 || (errno == ECONNRESET && parser.state() == HttpResponseParser::State::need_more)) {
      st = parser.finish();
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN) {
      if (!wait_fd(fd.get(), POLLIN, deadline)) return timeout_error(timeout, "waiting for the response");
      continue;
    } else {
      return make_error("http.io", std::string("recv: ") + std::strerror(errno));
    }
    if (st == HttpResponseParser::State::done) return parser.take_response();
    if (st == HttpResponseParser::State::failed) return parser.error();
  }
}

}  // namespace sb::agent
