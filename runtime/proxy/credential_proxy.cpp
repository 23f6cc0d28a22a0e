#include "runtime/proxy/credential_proxy.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/core/fs.hpp"
#include "runtime/core/log.hpp"
#include "runtime/proxy/lease_env.hpp"
#include "runtime/proxy/proxy_core.hpp"

namespace sb::proxy {
namespace detail {
namespace {

Error socket_error(const std::string& what, int err) {
  return make_error("proxy.socket", what + ": " + std::strerror(err));
}

// Binds a listening unix socket at `path`, replacing a stale socket file (a crashed
// earlier run) but never another kind of file. A path longer than sun_path is bound
// through /proc/self/fd/N/NAME, N being its directory opened O_PATH.
Result<std::shared_ptr<local::acceptor>> bind_socket(net::io_context& io, const LeaseRequest& request, dev_t& dev,
                                                     ino_t& ino) {
  const std::string& path = request.socket_path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return make_error("proxy.socket", path + " exists and is not a socket");
    if (::unlink(path.c_str()) != 0) return socket_error("unlink stale " + path, errno);
  }
  std::string bind_path = path;
  UniqueFd dir;
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos) return make_error("proxy.socket", "socket path must be absolute: " + path);
    const std::string dir_path = slash == 0 ? "/" : path.substr(0, slash);
    dir.reset(::open(dir_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) return socket_error("open " + dir_path, errno);
    bind_path = "/proc/self/fd/" + std::to_string(dir.get()) + path.substr(slash);
    if (bind_path.size() >= sizeof(sockaddr_un{}.sun_path))
      return make_error("proxy.socket", "socket name too long: " + path);
  }
  auto acceptor = std::make_shared<local::acceptor>(net::make_strand(io));
  error_code ec;
  acceptor->open(local(), ec);
  if (!ec) acceptor->bind(local::endpoint(bind_path), ec);
  if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return make_error("proxy.socket", "listen on " + path + ": " + ec.message());
  // Only the container's uid may connect (and root, the proxy itself).
  if (::chmod(path.c_str(), 0600) != 0) return socket_error("chmod " + path, errno);
  if (request.uid || request.gid) {
    if (::lchown(path.c_str(), request.uid ? *request.uid : static_cast<uid_t>(-1),
                 request.gid ? *request.gid : static_cast<gid_t>(-1)) != 0)
      return socket_error("chown " + path + " to the container uid", errno);
  }
  if (::lstat(path.c_str(), &st) != 0) return socket_error("stat " + path, errno);
  dev = st.st_dev;
  ino = st.st_ino;
  return acceptor;
}

void unlink_if_ours(const LeaseEntry& entry) {
  struct stat st {};
  if (::lstat(entry.socket_path.c_str(), &st) == 0 && st.st_dev == entry.socket_dev && st.st_ino == entry.socket_ino)
    ::unlink(entry.socket_path.c_str());
}

// Stops a lease from serving: its socket file goes, its acceptor closes (on its own
// executor), its open sessions end.
void shut_lease(const LeaseEntry& entry) {
  unlink_if_ours(entry);
  net::post(entry.acceptor->get_executor(), [acceptor = entry.acceptor] {
    error_code ec;
    acceptor->close(ec);
  });
  for (const auto& weak : entry.sessions)
    if (auto s = weak.lock()) s->close();
}

net::awaitable<void> accept_loop(ProxyCore* core, std::shared_ptr<local::acceptor> acceptor, uint64_t lease_id,
                                 std::shared_ptr<LeaseBudget> budget) {
  const auto per_lease = static_cast<size_t>(core->config.max_connections_per_lease);
  const auto total = static_cast<size_t>(core->config.max_connections);
  for (;;) {
    error_code ec;
    auto strand = net::make_strand(core->io);
    auto socket = co_await acceptor->async_accept(strand, net::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor->is_open()) co_return;
      log::warn("proxy.accept_failed", {{"error", ec.message()}});
      // Out of descriptors: pause instead of spinning; the lease stays open.
      net::steady_timer pause(co_await net::this_coro::executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(net::redirect_error(use_awaitable, ec));
      continue;
    }
    // Claim the slot first, then check: two accept loops never both slip under the cap.
    const size_t lease_open = budget->connections.fetch_add(1) + 1;
    const size_t all_open = core->connections.fetch_add(1) + 1;
    std::optional<ConnectionSlot> slot(std::in_place, budget, &core->connections);
    if (lease_open > per_lease || all_open > total) {
      socket.close(ec);
      slot.reset();  // given back before the pause
      core->telemetry.connection_refused(lease_open > per_lease ? "lease_connections" : "total_connections");
      // A client that reconnects in a loop spends the lease's own accept loop, nobody else's.
      net::steady_timer pause(co_await net::this_coro::executor, std::chrono::milliseconds(20));
      co_await pause.async_wait(net::redirect_error(use_awaitable, ec));
      continue;
    }
    auto session = std::make_shared<Session>(*core, Session::ClientStream(std::move(socket)), std::move(*slot));
    if (!core->add_session(lease_id, session)) co_return;  // revoked meanwhile
    net::co_spawn(session->executor(), Session::run(session), net::detached);
  }
}

}  // namespace

ProxyCore::ProxyCore(config::ProxyConfig cfg, RouteTable table, std::shared_ptr<ssl::context> tls_context,
                     SecretLookup lookup, ProxyTelemetry telemetry_sink, ProxyTuning tuning_options)
    : config(std::move(cfg)),
      routes(std::move(table)),
      tls(std::move(tls_context)),
      secrets(std::move(lookup)),
      telemetry(std::move(telemetry_sink)),
      tuning(tuning_options) {}

ProxyCore::~ProxyCore() {
  stop();
}

void ProxyCore::start() {
  work.emplace(net::make_work_guard(io));
  const int n = tuning.threads > 0 ? tuning.threads : 1;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([this] {
      pthread_setname_np(pthread_self(), "sb-proxy");  // for top -H and perf
      for (;;) {
        try {
          io.run();
          return;
        } catch (const std::exception& e) {
          log::error("proxy.thread_error", {{"error", e.what()}});
        }
      }
    });
  }
}

void ProxyCore::stop() {
  std::map<uint64_t, LeaseEntry> closing;
  {
    std::lock_guard lock(mutex);
    if (stopped) return;
    stopped = true;
    closing.swap(leases);
  }
  for (auto& [id, entry] : closing) {
    shut_lease(entry);
    telemetry.leases_changed(-1);
  }
  // Let the closed sessions unwind by themselves for a moment (their sockets close
  // now, not when the io_context is destroyed), then stop whatever still waits (a
  // connect to an upstream that does not answer).
  work.reset();
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (!io.stopped() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  io.stop();
  for (auto& t : threads)
    if (t.joinable()) t.join();
  threads.clear();
  closing.clear();  // acceptors die while the io_context still exists
}

Result<std::unique_ptr<ProxyLease>> ProxyCore::open_lease(const std::shared_ptr<ProxyCore>& self,
                                                          const LeaseRequest& request) {
  uint64_t id;
  {
    std::lock_guard lock(mutex);
    if (stopped) return make_error("proxy.stopped", "the credential proxy is stopped");
    id = next_lease++;
  }
  LeaseEntry entry;
  auto acceptor = bind_socket(io, request, entry.socket_dev, entry.socket_ino);
  if (!acceptor) return acceptor.error();
  entry.grant = Grant{request.run_id, request.namespace_name, id};
  entry.socket_path = request.socket_path;
  entry.acceptor = *acceptor;
  Secret token = tokens.mint(entry.grant);
  {
    std::lock_guard lock(mutex);
    if (stopped) {
      tokens.revoke(token.reveal());
      unlink_if_ours(entry);
      return make_error("proxy.stopped", "the credential proxy is stopped");
    }
    leases.emplace(id, entry);
  }
  net::co_spawn(entry.acceptor->get_executor(), accept_loop(this, entry.acceptor, id, entry.budget), net::detached);
  telemetry.leases_changed(1);
  log::info("proxy.lease_opened",
            {{"run", request.run_id}, {"namespace", request.namespace_name}, {"socket", request.socket_path}});

  std::unique_ptr<ProxyLease> lease(new ProxyLease());
  lease->core_ = self;
  lease->id_ = id;
  lease->environment_ = container_environment(config.container_port, token, routes.names_for(request.namespace_name));
  lease->token_ = std::move(token);
  lease->socket_path_ = request.socket_path;
  lease->run_id_ = request.run_id;
  lease->namespace_name_ = request.namespace_name;
  return lease;
}

void ProxyCore::close_lease(uint64_t id, const Secret& token) {
  tokens.revoke(token.reveal());  // first: from now on the token gets 401 everywhere
  LeaseEntry entry;
  {
    std::lock_guard lock(mutex);
    auto it = leases.find(id);
    if (it == leases.end()) return;
    entry = std::move(it->second);
    leases.erase(it);
  }
  shut_lease(entry);
  telemetry.leases_changed(-1);
  log::info("proxy.lease_revoked", {{"run", entry.grant.run_id}, {"namespace", entry.grant.namespace_name}});
}

bool ProxyCore::add_session(uint64_t lease_id, const std::shared_ptr<Session>& session) {
  std::lock_guard lock(mutex);
  auto it = leases.find(lease_id);
  if (it == leases.end()) return false;
  auto& sessions = it->second.sessions;
  std::erase_if(sessions, [](const std::weak_ptr<Session>& w) { return w.expired(); });
  sessions.push_back(session);
  return true;
}

}  // namespace detail

void ProxyLease::revoke() {
  if (revoked_) return;
  revoked_ = true;
  if (auto core = core_.lock()) core->close_lease(id_, token_);
}

CredentialProxy::CredentialProxy(std::shared_ptr<detail::ProxyCore> core) : core_(std::move(core)) {}

CredentialProxy::~CredentialProxy() {
  stop();
}

Result<std::shared_ptr<CredentialProxy>> CredentialProxy::create(const config::ProxyConfig& config,
                                                                 SecretLookup secrets, AuditSink audit,
                                                                 metrics::Registry* metrics, ProxyTuning tuning) {
  auto routes = RouteTable::from_config(config.routes);
  if (!routes) return routes.error();
  auto tls = detail::make_client_tls(config.ca_file);
  if (!tls) return tls.error();
  for (const auto& name : routes->names())
    if (!routes->find(name)->upstream.tls)
      log::warn("proxy.plaintext_upstream", {{"route", name}, {"note", "credentials travel unencrypted"}});
  auto core = std::make_shared<detail::ProxyCore>(
      config, std::move(*routes), std::move(*tls), std::move(secrets),
      ProxyTelemetry(std::move(audit), metrics, std::chrono::milliseconds(config.denial_audit_interval_ms)), tuning);
  core->start();
  return std::shared_ptr<CredentialProxy>(new CredentialProxy(std::move(core)));
}

Result<std::unique_ptr<ProxyLease>> CredentialProxy::open_lease(const LeaseRequest& request) {
  return core_->open_lease(core_, request);
}

size_t CredentialProxy::active_leases() const {
  std::lock_guard lock(core_->mutex);
  return core_->leases.size();
}

size_t CredentialProxy::open_connections() const {
  return core_->connections.load();
}

std::vector<std::string> CredentialProxy::routes_for(const std::string& namespace_name) const {
  return core_->routes.names_for(namespace_name);
}

const config::ProxyConfig& CredentialProxy::config() const {
  return core_->config;
}

void CredentialProxy::stop() {
  core_->stop();
}

}  // namespace sb::proxy
