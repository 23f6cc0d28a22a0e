#pragma once
// The in-container end of the credential proxy: listens on 127.0.0.1:PORT and relays
// each TCP connection byte-for-byte (both directions, half-close kept) to a fresh
// connection to the proxy's unix socket, so SDKs inside the container just use
// http://127.0.0.1:PORT as their base URL. One thread runs a poll() loop over every
// connection; the agent's IPC loop never waits on it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "runtime/core/fs.hpp"
#include "runtime/core/result.hpp"

namespace sb::agent {

struct ProxyBridgeOptions {
  std::string socket_path;                           // the proxy's unix socket
  uint16_t port = 3001;                              // 0: any free port (see port())
  std::size_t max_connections = 256;                 // more wait in the listen backlog
  std::size_t buffer_bytes = 256u << 10;             // per direction and connection
  std::chrono::milliseconds connect_timeout{10000};  // unix socket backlog full: retry this long
};

class ProxyBridge {
 public:
  // Binds and listens before returning (so a connection right after start succeeds),
  // then starts the relay thread. "bridge.listen_failed" says why (EADDRNOTAVAIL:
  // loopback is down in this network namespace; EADDRINUSE: the port is taken).
  static Result<std::unique_ptr<ProxyBridge>> start(ProxyBridgeOptions options);
  ~ProxyBridge();  // stop()
  ProxyBridge(const ProxyBridge&) = delete;
  ProxyBridge& operator=(const ProxyBridge&) = delete;

  uint16_t port() const { return port_; }
  // Closes the listener and every relayed connection, joins the thread. Idempotent.
  void stop();

 private:
  ProxyBridge(ProxyBridgeOptions options, UniqueFd listener, UniqueFd wake, uint16_t port);
  void run();

  ProxyBridgeOptions options_;
  UniqueFd listener_;
  UniqueFd wake_;  // eventfd: written by stop()
  uint16_t port_;
  std::thread thread_;
};

}  // namespace sb::agent
