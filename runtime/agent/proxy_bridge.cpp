#include "runtime/agent/proxy_bridge.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <list>
#include <vector>

#include "runtime/agent/agent_log.hpp"

namespace sb::agent {
namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int e) {
  return std::to_string(e) + " (" + std::strerror(e) + ")";
}

// Bytes read from one side and not yet written to the other.
struct Direction {
  std::string buf;
  std::size_t off = 0;
  bool eof = false;      // the source sent FIN
  bool shut = false;     // FIN passed on to the destination
  bool discard = false;  // the destination is gone: bytes are read and dropped
  std::size_t pending() const { return buf.size() - off; }
};

struct Link {
  UniqueFd client;    // accepted TCP connection
  UniqueFd upstream;  // the proxy's unix socket
  bool connected = false;
  Clock::time_point connect_deadline;
  Direction up;    // client -> upstream
  Direction down;  // upstream -> client
};

enum class Io { ok, closed, failed };

// One read into `d` (at most up to `cap` pending bytes).
Io read_into(int fd, Direction& d, std::size_t cap) {
  char tmp[65536];
  std::size_t room = cap > d.pending() ? cap - d.pending() : 0;
  if (room == 0) return Io::ok;
  ssize_t n = ::recv(fd, tmp, std::min(room, sizeof tmp), 0);
  if (n > 0) {
    if (d.off == d.buf.size()) {
      d.buf.clear();
      d.off = 0;
    }
    d.buf.append(tmp, static_cast<std::size_t>(n));
    return Io::ok;
  }
  if (n == 0) return Io::closed;
  return errno == EAGAIN || errno == EINTR ? Io::ok : Io::failed;
}

Io flush(int fd, Direction& d) {
  while (d.pending() > 0) {
    ssize_t n = ::send(fd, d.buf.data() + d.off, d.pending(), MSG_NOSIGNAL);
    if (n > 0) {
      d.off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return Io::ok;
    return Io::failed;
  }
  d.buf.clear();
  d.off = 0;
  return Io::ok;
}

// A relay that failed mid-way must not look like a complete exchange to the client:
// close with RST instead of FIN.
void abort_client(Link& l) {
  linger lg{1, 0};
  ::setsockopt(l.client.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

}  // namespace

Result<std::unique_ptr<ProxyBridge>> ProxyBridge::start(ProxyBridgeOptions options) {
  auto fail = [](const std::string& what, int e) {
    std::string hint = e == EADDRNOTAVAIL ? " (is the loopback interface up in this network namespace?)" : "";
    return make_error("bridge.listen_failed", what + ": " + errno_text(e) + hint);
  };
  if (options.socket_path.empty() || options.socket_path.size() >= sizeof(sockaddr_un{}.sun_path))
    return make_error("bridge.listen_failed", "proxy socket path is empty or too long");
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail("socket", errno);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(options.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return fail("bind 127.0.0.1:" + std::to_string(options.port), errno);
  if (::listen(fd.get(), 128) != 0) return fail("listen", errno);
  socklen_t len = sizeof addr;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return fail("getsockname", errno);
  UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) return fail("eventfd", errno);
  std::unique_ptr<ProxyBridge> bridge(
      new ProxyBridge(std::move(options), std::move(fd), std::move(wake), ntohs(addr.sin_port)));
  bridge->thread_ = std::thread([b = bridge.get()] { b->run(); });
  return bridge;
}

ProxyBridge::ProxyBridge(ProxyBridgeOptions options, UniqueFd listener, UniqueFd wake, uint16_t port)
    : options_(std::move(options)), listener_(std::move(listener)), wake_(std::move(wake)), port_(port) {}

ProxyBridge::~ProxyBridge() {
  stop();
}

void ProxyBridge::stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  thread_.join();
}

void ProxyBridge::run() {
  const std::size_t cap = options_.buffer_bytes;
  std::list<Link> links;
  uint64_t accepted = 0, failed = 0;
  Clock::time_point accept_paused_until{};

  // Connects a new link's upstream; false drops the link.
  auto try_connect = [&](Link& l) {
    if (!l.upstream.valid()) l.upstream.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, options_.socket_path.data(), options_.socket_path.size());
    int rc = l.upstream.valid() ? ::connect(l.upstream.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) : -1;
    if (rc == 0) return l.connected = true;
    int e = errno;
    // A unix connect never is "in progress": EAGAIN is a full backlog, retried on the tick.
    if ((e == EAGAIN || e == EINTR) && Clock::now() < l.connect_deadline) return true;
    ++failed;
    log_event("warn", "agent.bridge_connect_failed",
              {{"socket", options_.socket_path}, {"errno", e == EAGAIN ? std::string("timeout") : errno_text(e)}});
    abort_client(l);
    return false;
  };

  // Moves bytes both ways; false when the link is finished or broken.
  auto pump = [&](Link& l, short client_ev, short upstream_ev) {
    auto readable = [](short ev) { return (ev & (POLLIN | POLLHUP | POLLERR)) != 0; };
    Io r = Io::ok;
    if (!l.up.eof && readable(client_ev) && (r = read_into(l.client.get(), l.up, cap)) == Io::closed) l.up.eof = true;
    if (r == Io::failed) return false;
    if (!l.down.eof && readable(upstream_ev) && (r = read_into(l.upstream.get(), l.down, cap)) == Io::closed)
      l.down.eof = true;
    if (r == Io::failed) {
      abort_client(l);
      return false;
    }
    if (l.up.discard) {
      l.up.buf.clear();
      l.up.off = 0;
    } else if (flush(l.upstream.get(), l.up) == Io::failed) {
      // The proxy stopped reading (e.g. it answered 413 and closed its side): drop the
      // rest of the request but still relay whatever answer it sent.
      l.up.discard = l.up.shut = true;
      l.up.buf.clear();
      l.up.off = 0;
    }
    if (flush(l.client.get(), l.down) == Io::failed) return false;
    // Half-close: a FIN from one side is passed on once its bytes are all delivered.
    if (l.up.eof && l.up.pending() == 0 && !l.up.shut) {
      ::shutdown(l.upstream.get(), SHUT_WR);
      l.up.shut = true;
    }
    if (l.down.eof && l.down.pending() == 0 && !l.down.shut) {
      ::shutdown(l.client.get(), SHUT_WR);
      l.down.shut = true;
    }
    return !((l.up.shut && (!l.up.discard || l.up.eof)) && l.down.shut);
  };

  std::vector<pollfd> fds;
  while (true) {
    const auto now = Clock::now();
    const bool accepting = links.size() < options_.max_connections && now >= accept_paused_until;
    bool ticking = now < accept_paused_until;
    fds.clear();
    fds.push_back({wake_.get(), POLLIN, 0});
    fds.push_back({accepting ? listener_.get() : -1, POLLIN, 0});
    for (auto& l : links) {
      short ce = 0, ue = 0;
      if (l.connected) {
        if (!l.up.eof && l.up.pending() < cap) ce |= POLLIN;
        if (l.down.pending() > 0) ce |= POLLOUT;
        if (!l.down.eof && l.down.pending() < cap) ue |= POLLIN;
        if (l.up.pending() > 0) ue |= POLLOUT;
      } else {
        ticking = true;
      }
      // An fd we want nothing from is left out, so a hang-up there cannot spin the loop.
      fds.push_back({ce ? l.client.get() : -1, ce, 0});
      fds.push_back({ue ? l.upstream.get() : -1, ue, 0});
    }
    int rc = ::poll(fds.data(), fds.size(), ticking ? 10 : -1);
    if (rc < 0 && errno != EINTR) {
      log_event("error", "agent.bridge_poll_failed", {{"errno", errno_text(errno)}});
      break;
    }
    if (rc < 0) continue;
    if (fds[0].revents != 0) break;  // stop()

    std::size_t i = 2;
    for (auto it = links.begin(); it != links.end(); i += 2) {
      bool keep = it->connected ? pump(*it, fds[i].revents, fds[i + 1].revents) : try_connect(*it);
      it = keep ? std::next(it) : links.erase(it);
    }
    if (fds[1].revents & POLLIN) {
      while (links.size() < options_.max_connections) {
        int c = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            // Out of descriptors: leave the rest in the backlog for a moment instead of spinning.
            log_event("warn", "agent.bridge_accept_failed", {{"errno", errno_text(errno)}});
            accept_paused_until = Clock::now() + std::chrono::milliseconds(100);
          }
          break;
        }
        ++accepted;
        int one = 1;
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // streamed replies go out at once
        Link& l = links.emplace_back();
        l.client.reset(c);
        l.connect_deadline = Clock::now() + options_.connect_timeout;
        if (!try_connect(l)) links.pop_back();
      }
    }
  }
  log_event("info", "agent.bridge_stopped",
            {{"accepted", std::to_string(accepted)},
             {"connect_failures", std::to_string(failed)},
             {"open", std::to_string(links.size())}});
}

}  // namespace sb::agent
