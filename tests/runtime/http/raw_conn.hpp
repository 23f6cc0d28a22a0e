#pragma once
// A blocking POSIX TCP client for exercising the server byte by byte: garbage, partial
// requests, pipelining, closed-connection checks. Every wait has a deadline.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace sb::http::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

class RawConn {
 public:
  explicit RawConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConn() { close(); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool connected() const { return connected_; }

  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response framed by Content-Length (or headers only when head_only, or
  // until EOF without Content-Length). nullopt on timeout, EOF or malformed input.
  std::optional<RawResponse> read_response(std::chrono::milliseconds timeout = 5s, bool head_only = false) {
    const auto deadline = Clock::now() + timeout;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (read_some(deadline) <= 0) return std::nullopt;
    }
    RawResponse r;
    const std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) return std::nullopt;
    r.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
      const size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    if (head_only || r.status == 100 || r.status == 204 || r.status == 304) return r;
    if (r.headers.count("content-length")) {
      const size_t length = std::stoul(r.headers["content-length"]);
      while (buf_.size() < length) {
        if (read_some(deadline) <= 0) return std::nullopt;
      }
      r.body = buf_.substr(0, length);
      buf_.erase(0, length);
    } else {
      int n;
      while ((n = read_some(deadline)) > 0) {
      }
      if (n < 0 && n != kEof) return std::nullopt;
      r.body = std::move(buf_);
      buf_.clear();
    }
    return r;
  }

  // True when the peer closes (EOF or reset) before the deadline. Data read meanwhile
  // stays in pending().
  bool wait_closed(std::chrono::milliseconds timeout = 5s) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const int n = read_some(deadline);
      if (n == kEof || n == kError) return true;
      if (n == kTimeout) return false;
    }
  }

  // Bytes received but not consumed by read_response.
  const std::string& pending() const { return buf_; }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  static constexpr int kEof = 0;
  static constexpr int kTimeout = -1;
  static constexpr int kError = -2;

 private:
  int read_some(Clock::time_point deadline) {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return kTimeout;
      pollfd p{fd_, POLLIN, 0};
      const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc < 0 && errno == EINTR) continue;
      if (rc == 0) return kTimeout;
      if (rc < 0) return kError;
      char tmp[4096];
      const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n == 0) return kEof;
      if (n < 0) return errno == EINTR ? read_some(deadline) : kError;
      buf_.append(tmp, static_cast<size_t>(n));
      return static_cast<int>(n);
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

// Polls cond until true or the deadline; for effects that land just after a response
// is on the wire (e.g. metrics counted when the write completes).
inline bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return cond();
}

}  // namespace sb::http::test
