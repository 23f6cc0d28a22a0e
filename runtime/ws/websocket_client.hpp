#pragma once
// One WebSocket client connection (ws:// or wss://) for the Discord Gateway and Slack
// Socket Mode. The client owns its I/O: a private thread runs its io_context, so no
// call here blocks and the owner (a CAF actor shell) only forwards the callbacks to
// itself as messages. Boost stays in websocket_client.cpp.
//
// Beast 1.74 (v300) needs care that the client takes: SNI and hostname verification set
// by hand, exactly one read pending while open (pings are answered and timeouts
// delivered only inside a read), an own write queue (Beast does no queueing), no
// permessage-deflate (buggy before 1.81), an idle timeout that the client preset does
// not have, and the TCP socket closed after a close handshake on TLS (docs:
// REFERENCE-websockets.md section 6).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"
#include "runtime/http/message.hpp"

namespace sb::http {

struct WebSocketOptions {
  // wss: a PEM bundle trusted in addition to the system store ("" = system store only).
  // Unlike ClientOptions::ca_file this adds, it does not replace: a gateway URL found by
  // a REST call may point at a host the system store already trusts.
  std::string ca_file;
  // Resolve, TCP connect, TLS and WebSocket handshake together.
  std::chrono::milliseconds connect_timeout{30000};
  // Once open: 0 = none. Otherwise the connection is dead when nothing arrived for this
  // long. With keep_alive_pings the client pings after idle_timeout/2 of silence, so a
  // live but quiet peer keeps it open (Beast 1.74 does not count the peer's own pings as
  // activity while one read is pending: without keep_alive_pings a peer that only pings
  // times out).
  std::chrono::milliseconds idle_timeout{0};
  bool keep_alive_pings = false;
  // A larger incoming message ends the connection ("ws.message_too_big", close 1009).
  std::size_t max_message_bytes = 16u << 20;
  std::string user_agent;  // sent in the handshake when not empty
  Headers extra_headers;   // sent in the handshake; names must be tokens, values one line
  // How long close() waits for the peer's close frame before closing the socket anyway.
  std::chrono::milliseconds close_timeout{2000};
};

struct WebSocketClosed {
  enum class Why {
    connect_failed,  // before on_open; error says which step
    peer_closed,     // the peer sent a close frame; code/reason are its
    error,           // I/O error, abrupt EOF without close frame, oversized message
    idle_timeout,    // nothing arrived within idle_timeout
    local_close,     // close() was called (error set only if the close handshake timed out)
    aborted,         // drop() was called
  };
  Why why = Why::error;
  std::optional<uint16_t> code;  // close code the peer sent, if a close frame arrived
  std::string reason;            // the peer's close reason
  // Empty code for a clean close. Otherwise one of: "ws.bad_url", "ws.bad_header",
  // "ws.busy" (connect() while connected), "ws.resolve", "ws.connect", "ws.tls",
  // "ws.handshake" (upgrade refused: http_status), "ws.timeout" (connect_timeout),
  // "ws.idle_timeout", "ws.message_too_big", "ws.io", "ws.close_timeout", "ws.aborted".
  Error error;
  int http_status = 0;  // the HTTP status of a refused upgrade, else 0
};

// "connect_failed", "peer_closed", ... (for logs).
std::string_view to_string(WebSocketClosed::Why why);

// Called on the client's own thread, one at a time, never after ~WebSocketClient began.
// They must not block for long (they hold up the connection's I/O) and must not destroy
// the client.
struct WebSocketEvents {
  std::function<void()> on_open;                   // handshake done; send() works from now
  std::function<void(std::string text)> on_text;   // one complete text message
  std::function<void(WebSocketClosed)> on_closed;  // exactly once per connect()
};

struct WebSocketStats {
  uint64_t connections_opened = 0;
  uint64_t messages_sent = 0;
  uint64_t bytes_sent = 0;  // payload bytes
  uint64_t messages_received = 0;
  uint64_t bytes_received = 0;
  uint64_t messages_dropped = 0;  // send() while not open, binary messages received
};

class WebSocketClient {
 public:
  WebSocketClient(WebSocketOptions options, WebSocketEvents events);
  // Aborts the connection (no close frame, no on_closed) and joins the thread: no
  // callback runs after it returns. Must not be called from a callback.
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // Starts connecting to "wss://host[:port]/path?query" (or ws://); the path and query
  // are the handshake target unchanged. Ends in on_open or on_closed(connect_failed).
  // One connection at a time: calling it again before on_closed reports "ws.busy" for
  // the new call and leaves the current connection alone; after on_closed it connects
  // anew. Thread-safe.
  void connect(std::string url);
  // Queues one text message; messages go out in call order, one write at a time. Only
  // while open (from on_open to on_closed): otherwise it is dropped (messages_dropped).
  // Thread-safe.
  void send(std::string text);
  // Close handshake after the messages already queued: sends a close frame with `code`
  // (invalid codes become 1000; the reason is cut to 123 bytes), waits close_timeout for
  // the peer's, then closes the socket. Before on_open it abandons the connect.
  // Thread-safe; ends in on_closed(local_close).
  void close(uint16_t code = 1000, std::string reason = {});
  // Closes the TCP socket at once, no close frame (Discord: drop a zombie connection and
  // resume). Thread-safe; ends in on_closed(aborted).
  void drop();

  WebSocketStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sb::http
