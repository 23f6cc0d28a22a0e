#pragma once
// A unix stream socket server for the agent tests, standing in for the credential
// proxy: every accepted connection runs `handler(fd)` on its own thread. stop() (and
// the destructor) shuts every open connection down and joins all threads, so a
// handler blocked in a read always ends.
#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace sb::test {

class UnixServer {
 public:
  using Handler = std::function<void(int fd)>;

  UnixServer(std::string path, Handler handler, mode_t mode = 0600)
      : path_(std::move(path)), handler_(std::move(handler)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long");
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    ::unlink(path_.c_str());
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 256) != 0)
      throw std::runtime_error("unix server: cannot listen on " + path_ + ": " + std::strerror(errno));
    ::chmod(path_.c_str(), mode);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~UnixServer() { stop(); }
  UnixServer(const UnixServer&) = delete;
  UnixServer& operator=(const UnixServer&) = delete;

  void stop() {
    if (!acceptor_.joinable()) return;
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
    acceptor_.join();
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
      for (auto& [fd, _] : open_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    ::close(listen_fd_);
    ::close(wake_fd_);
    ::unlink(path_.c_str());
  }

  bool stopping() {
    std::lock_guard<std::mutex> lk(mu_);
    return stopping_;
  }
  int accepted() const { return accepted_.load(); }

 private:
  void accept_loop() {
    while (true) {
      pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
      if (fds[0].revents) return;
      if (!(fds[1].revents & POLLIN)) continue;
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++accepted_;
      std::lock_guard<std::mutex> lk(mu_);
      open_[c] = true;
      workers_.emplace_back([this, c] {
        handler_(c);
        std::lock_guard<std::mutex> lk2(mu_);
        open_.erase(c);
        ::close(c);
      });
    }
  }

  std::string path_;
  Handler handler_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::thread acceptor_;
  std::mutex mu_;
  bool stopping_ = false;
  std::map<int, bool> open_;
  std::vector<std::thread> workers_;
  std::atomic<int> accepted_{0};
};

// Blocking helpers for handlers and clients.
inline bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until EOF (or an error); the peer's half-close ends it. `clean_eof` tells an
// orderly EOF from an error or a receive timeout.
inline std::string read_to_eof(int fd, bool* clean_eof = nullptr) {
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (clean_eof) *clean_eof = n == 0;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// One HTTP/1.1 request as the fake proxy sees it (head + Content-Length body).
struct SeenRequest {
  std::string method, target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

inline std::optional<SeenRequest> read_http_request(int fd) {
  std::string data;
  char buf[65536];
  size_t head_end;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    data.append(buf, static_cast<size_t>(n));
  }
  SeenRequest r;
  std::string head = data.substr(0, head_end);
  size_t line_end = head.find("\r\n");
  std::string first = head.substr(0, line_end);
  size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) return std::nullopt;
  r.method = first.substr(0, sp1);
  r.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    std::string line = head.substr(pos, e - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string k = line.substr(0, colon), v = line.substr(colon + 1);
      for (auto& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      r.headers[k] = v;
    }
    pos = e + 2;
  }
  size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
  r.body = data.substr(head_end + 4);
  while (r.body.size() < length) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    r.body.append(buf, static_cast<size_t>(n));
  }
  return r;
}

}  // namespace sb::test
