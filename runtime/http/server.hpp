#pragma once
// Asynchronous HTTP/1.1 server (Boost.Beast) behind a pimpl, so that including this
// header costs nothing: actor code registers a Handler and never sees Asio.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/core/result.hpp"
#include "runtime/http/message.hpp"
#include "runtime/http/router.hpp"

namespace sb::metrics {
class Registry;
}

namespace sb::http {

struct ServerOptions {
  std::string name = "admin";  // "listener" label on metrics and logs
  std::string address = "127.0.0.1";
  uint16_t port = 0;            // 0 = ephemeral; see Server::port()
  size_t body_limit = 1 << 20;  // larger bodies get 413
  // The whole request (headers and body) must arrive within this once it has started
  // (for a new connection: from accept), else 408 and close. Also bounds each write.
  std::chrono::milliseconds request_timeout{10000};
  // A keep-alive connection with no new request for this long is closed silently.
  std::chrono::milliseconds idle_timeout{60000};
  int threads = 1;
  size_t max_connections = 1024;  // beyond this, new connections get 503 and close
  // Open connections one remote address may hold (0 = no cap); beyond it the same 503.
  // Behind a reverse proxy every connection has its address: raise it to max_connections.
  size_t max_connections_per_remote = 0;
  // PEM files; both set: HTTPS (the handshake counts against request_timeout), both
  // empty: plain HTTP, one without the other: start() fails with "http.tls".
  std::string tls_cert_file;
  std::string tls_key_file;
};

class Server {
 public:
  // The handler runs on a server thread; it must not block (hand work to an actor and
  // call the Reply later). metrics may be null; if not, it must outlive the server.
  Server(ServerOptions options, Handler handler, sb::metrics::Registry* metrics);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens, then runs its own threads. Errors: "http.bad_address",
  // "http.bind", "http.tls" (unreadable certificate or key), "http.state" (already started).
  Result<uint16_t> start();
  // Closes the listening socket; open connections and in-flight requests carry on.
  void stop_accepting();
  // Closes the listener and every connection and joins the threads. Idempotent. Pending
  // Replies become no-ops. Must not be called from a handler (a server thread).
  void stop();
  uint16_t port() const;  // bound port after a successful start(), else 0

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sb::http
