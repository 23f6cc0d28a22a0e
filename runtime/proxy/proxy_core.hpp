#pragma once
// Internal to sb_proxy (Beast): the state a CredentialProxy shares with its leases and
// sessions. Sessions and accept loops refer to it by plain pointer: it outlives them,
// because its io_context (and with it every pending coroutine) is destroyed first.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/proxy/asio.hpp"
#include "runtime/proxy/credential_proxy.hpp"
#include "runtime/proxy/proxy_telemetry.hpp"
#include "runtime/proxy/route_table.hpp"
#include "runtime/proxy/token_registry.hpp"
#include "runtime/proxy/upstream_client.hpp"

namespace sb::proxy::detail {

class Session;

// What one lease holds at once (H1 of the 2026-12 audit): connections and request body
// bytes, shared by its accept loop and sessions.
struct LeaseBudget {
  std::atomic<size_t> connections{0};
  std::atomic<uint64_t> buffered_bytes{0};
};

// One accepted connection's share of the limits, given back when its session ends.
class ConnectionSlot {
 public:
  ConnectionSlot(std::shared_ptr<LeaseBudget> lease, std::atomic<size_t>* total)
      : lease_(std::move(lease)), total_(total) {}
  ~ConnectionSlot() {
    if (lease_) lease_->connections.fetch_sub(1);
    if (total_) total_->fetch_sub(1);
  }
  ConnectionSlot(ConnectionSlot&& o) noexcept : lease_(std::move(o.lease_)), total_(std::exchange(o.total_, nullptr)) {}
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  LeaseBudget* lease() const { return lease_.get(); }

 private:
  std::shared_ptr<LeaseBudget> lease_;
  std::atomic<size_t>* total_;
};

struct LeaseEntry {
  Grant grant;
  std::string socket_path;
  dev_t socket_dev = 0;  // the socket file this lease created (unlinked only if unchanged)
  ino_t socket_ino = 0;
  std::shared_ptr<local::acceptor> acceptor;
  std::shared_ptr<LeaseBudget> budget = std::make_shared<LeaseBudget>();
  std::vector<std::weak_ptr<Session>> sessions;
};

struct ProxyCore {
  ProxyCore(config::ProxyConfig cfg, RouteTable table, std::shared_ptr<ssl::context> tls_context, SecretLookup lookup,
            ProxyTelemetry telemetry_sink, ProxyTuning tuning_options);
  ~ProxyCore();

  void start();
  void stop();
  Result<std::unique_ptr<ProxyLease>> open_lease(const std::shared_ptr<ProxyCore>& self, const LeaseRequest& request);
  void close_lease(uint64_t id, const Secret& token);
  // False when the lease is gone (the session must close).
  bool add_session(uint64_t lease_id, const std::shared_ptr<Session>& session);

  const config::ProxyConfig config;
  const RouteTable routes;
  const std::shared_ptr<ssl::context> tls;
  const SecretLookup secrets;
  const ProxyTelemetry telemetry;
  const ProxyTuning tuning;
  TokenRegistry tokens;

  mutable std::mutex mutex;
  std::map<uint64_t, LeaseEntry> leases;
  uint64_t next_lease = 1;
  bool stopped = false;
  std::atomic<size_t> connections{0};  // sessions of every lease

  std::vector<std::thread> threads;
  // Last member: destroyed first, so pending coroutines die while the rest still lives.
  net::io_context io;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
};

// One client connection on a lease socket: HTTP/1.1 with keep-alive, one exchange at
// a time, run as a coroutine on its own strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  using ClientStream = beast::basic_stream<local>;

  Session(ProxyCore& core, ClientStream client, ConnectionSlot slot)
      : core_(core), client_(std::move(client)), slot_(std::move(slot)) {}
  static net::awaitable<void> run(std::shared_ptr<Session> self);
  // Any thread: closes both legs (the coroutine then ends on its own).
  void close();
  ClientStream::executor_type executor() { return client_.get_executor(); }

 private:
  struct Exchange;
  struct Outcome;
  net::awaitable<bool> serve_one();
  net::awaitable<bool> forward(Exchange& ex);
  template <class Stream>
  net::awaitable<Outcome> relay_response(Stream& up, const std::string& head, Exchange& ex);
  net::awaitable<bool> answer(Exchange& ex, int status, const std::string& type, const std::string& message,
                              bool keep_alive);
  net::awaitable<bool> write_client(const std::vector<net::const_buffer>& buffers, Clock::time_point deadline);
  void record(const Exchange& ex) const;
  void close_now();  // on the strand

  ProxyCore& core_;
  ClientStream client_;
  ConnectionSlot slot_;
  beast::flat_buffer client_buffer_;
  std::unique_ptr<UpstreamConnection> upstream_;
};

}  // namespace sb::proxy::detail
