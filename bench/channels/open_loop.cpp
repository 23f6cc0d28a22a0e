#include "bench/channels/open_loop.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>

namespace sb::bench {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

Fd connect_to(const std::string& host, uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Fd();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return Fd();
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return Fd();
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
  return fd;
}

struct Conn {
  Fd fd;
  bool busy = false;
  uint64_t request = 0;  // index in flight
  size_t written = 0;
  std::string in;
};

}  // namespace

ResponseFrame frame_response(const std::string& buffer) {
  ResponseFrame f;
  const size_t head_end = buffer.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    if (buffer.size() > 64 * 1024) f.length = -1;
    return f;
  }
  if (buffer.size() < 12 || buffer.compare(0, 5, "HTTP/") != 0) {
    f.length = -1;
    return f;
  }
  const size_t sp = buffer.find(' ');
  if (sp == std::string::npos || sp + 4 > head_end) {
    f.length = -1;
    return f;
  }
  f.status = std::atoi(buffer.c_str() + sp + 1);
  long content_length = -1;
  size_t line = buffer.find("\r\n") + 2;
  while (line < head_end) {
    size_t eol = buffer.find("\r\n", line);
    const std::string_view h(buffer.data() + line, eol - line);
    auto starts = [&](std::string_view name) {
      return h.size() > name.size() && ::strncasecmp(h.data(), name.data(), name.size()) == 0;
    };
    if (starts("content-length:")) content_length = std::atol(std::string(h.substr(15)).c_str());
    if (starts("transfer-encoding:")) {
      f.length = -1;
      return f;
    }
    if (starts("connection:") && h.find("close") != std::string_view::npos) f.close = true;
    line = eol + 2;
  }
  if (content_length < 0) {
    // 1xx/204/304 have no body; anything else must say how long it is.
    if (f.status == 204 || f.status == 304 || f.status < 200)
      content_length = 0;
    else {
      f.length = -1;
      return f;
    }
  }
  const long total = static_cast<long>(head_end + 4) + content_length;
  if (static_cast<long>(buffer.size()) >= total) f.length = total;
  return f;
}

LatencySummary summarize(std::vector<int64_t> v) {
  LatencySummary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    rank = std::clamp<size_t>(rank, 1, v.size());
    return static_cast<double>(v[rank - 1]) / 1e6;
  };
  s.p50_ms = at(0.50);
  s.p90_ms = at(0.90);
  s.p99_ms = at(0.99);
  s.p999_ms = at(0.999);
  s.max_ms = static_cast<double>(v.back()) / 1e6;
  return s;
}

OpenLoopResult run_open_loop(const OpenLoopOptions& o, const std::vector<std::string>& requests) {
  OpenLoopResult r;
  r.scheduled = requests.size();
  r.latency_ns.reserve(requests.size());
  Fd ep(::epoll_create1(EPOLL_CLOEXEC));
  Fd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (ep.get() < 0 || timer.get() < 0) {
    r.error = std::string("epoll/timerfd: ") + std::strerror(errno);
    return r;
  }
  std::vector<Conn> conns(static_cast<size_t>(o.connections));
  auto watch = [&](size_t i, uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = i;
    ::epoll_ctl(ep.get(), op, conns[i].fd.get(), &ev);
  };
  auto open = [&](size_t i) {
    conns[i] = Conn{};
    conns[i].fd = connect_to(o.host, o.port);
    if (conns[i].fd.get() < 0) return false;
    watch(i, EPOLLIN, EPOLL_CTL_ADD);
    return true;
  };
  for (size_t i = 0; i < conns.size(); ++i) {
    if (!open(i)) {
      r.error = "cannot connect to " + o.host + ":" + std::to_string(o.port);
      return r;
    }
  }
  const uint64_t kTimerTag = conns.size();
  {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTimerTag;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, timer.get(), &ev);
  }

  const double interval_ns = 1e9 / o.rate_per_s;
  const int64_t start = now_ns() + 10'000'000;  // 10 ms to settle
  auto scheduled_at = [&](uint64_t i) { return start + static_cast<int64_t>(static_cast<double>(i) * interval_ns); };
  uint64_t next = 0;      // next request to schedule
  uint64_t finished = 0;  // answered or failed
  int64_t last_answer = start;
  std::deque<uint64_t> backlog;
  std::vector<size_t> idle;
  for (size_t i = 0; i < conns.size(); ++i) idle.push_back(i);

  // A broken connection: its request (if any) counts as failed; a fresh connection
  // takes its place (an idle one is already in `idle`).
  auto fail = [&](size_t i) {
    const bool was_busy = conns[i].busy;
    if (was_busy) {
      ++r.failed;
      ++finished;
    }
    ++r.reconnects;
    if (open(i) && was_busy) idle.push_back(i);
  };
  auto flush = [&](size_t i) {
    Conn& c = conns[i];
    const std::string& req = requests[c.request];
    while (c.written < req.size()) {
      ssize_t n = ::send(c.fd.get(), req.data() + c.written, req.size() - c.written, MSG_NOSIGNAL);
      if (n > 0) {
        c.written += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        watch(i, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
        return true;
      }
      return false;
    }
    return true;
  };
  auto dispatch = [&] {
    while (!backlog.empty() && !idle.empty()) {
      size_t i = idle.back();
      idle.pop_back();
      Conn& c = conns[i];
      c.busy = true;
      c.request = backlog.front();
      c.written = 0;
      backlog.pop_front();
      if (!flush(i)) fail(i);
    }
  };
  auto arm = [&] {
    itimerspec spec{};
    if (next < requests.size()) {
      const int64_t at = scheduled_at(next);
      spec.it_value.tv_sec = at / 1'000'000'000;
      spec.it_value.tv_nsec = at % 1'000'000'000;
    }
    // steady_clock is CLOCK_MONOTONIC on Linux, so the absolute time matches.
    ::timerfd_settime(timer.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
  };
  auto schedule_due = [&] {
    const int64_t now = now_ns();
    while (next < requests.size() && scheduled_at(next) <= now) backlog.push_back(next++);
    r.max_backlog = std::max<uint64_t>(r.max_backlog, backlog.size());
    dispatch();
    arm();
  };
  auto on_readable = [&](size_t i) {
    Conn& c = conns[i];
    char buf[16384];
    for (;;) {
      ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      fail(i);  // closed or reset
      return;
    }
    for (;;) {
      ResponseFrame f = frame_response(c.in);
      if (f.length < 0 || (f.length > 0 && !c.busy)) {
        fail(i);
        return;
      }
      if (f.length == 0) return;
      const int64_t t = now_ns();
      r.latency_ns.push_back(t - scheduled_at(c.request));
      last_answer = t;
      if (f.status >= 200 && f.status < 300)
        ++r.answered_2xx;
      else
        ++r.answered_other;
      ++finished;
      c.busy = false;
      c.in.erase(0, static_cast<size_t>(f.length));
      if (f.close) {
        ++r.reconnects;
        if (open(i)) idle.push_back(i);
        dispatch();
        return;
      }
      idle.push_back(i);
      dispatch();
    }
  };

  arm();
  std::vector<epoll_event> events(conns.size() + 1);
  int64_t drain_deadline = -1;
  while (finished < requests.size()) {
    if (next >= requests.size() && drain_deadline < 0)
      drain_deadline = now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(o.drain_timeout).count();
    int timeout_ms = -1;
    if (drain_deadline >= 0) {
      const int64_t left = drain_deadline - now_ns();
      if (left <= 0) break;
      timeout_ms = static_cast<int>(left / 1'000'000) + 1;
    }
    int n = ::epoll_wait(ep.get(), events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) break;
    for (int k = 0; k < n; ++k) {
      const uint64_t tag = events[static_cast<size_t>(k)].data.u64;
      if (tag == kTimerTag) {
        uint64_t expirations = 0;
        [[maybe_unused]] ssize_t rd = ::read(timer.get(), &expirations, sizeof expirations);
        continue;
      }
      const size_t i = static_cast<size_t>(tag);
      const uint32_t ev = events[static_cast<size_t>(k)].events;
      if (ev & EPOLLOUT) {
        if (conns[i].busy && conns[i].written < requests[conns[i].request].size()) {
          if (!flush(i)) {
            fail(i);
            continue;
          }
        }
        if (!conns[i].busy || conns[i].written >= requests[conns[i].request].size()) watch(i, EPOLLIN, EPOLL_CTL_MOD);
      }
      if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(i);
    }
    schedule_due();
  }
  // Whatever is still waiting or in flight at the drain deadline counts as failed.
  r.failed += requests.size() - finished;
  r.elapsed_s = static_cast<double>(last_answer - start) / 1e9;
  return r;
}

}  // namespace sb::bench
