#pragma once
// The WebSocket connections of one bot actor (Discord Gateway, Slack Socket Mode), each
// a WebSocketClient on its own thread whose events reach the actor as ws_* messages
// (protocol.hpp, ws_bot_actor) tagged with the connection's id. Ids only grow, so the
// late events of a replaced connection are recognisable. Used from the owning actor
// only; events go to it through a weak address (they never keep it alive).
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <caf/actor_addr.hpp>

#include "runtime/ws/websocket_client.hpp"

namespace sb::actors {

class WsConnections {
 public:
  WsConnections(caf::actor_addr owner, http::WebSocketOptions options)
      : owner_(std::move(owner)), options_(std::move(options)) {}

  // A new connection to `url`; its events carry the returned id.
  std::uint64_t connect(std::string url);
  void send(std::uint64_t id, std::string text);
  void close(std::uint64_t id, std::uint16_t code);
  void drop(std::uint64_t id);
  // Destroys the client (no more events from it); for one that reported ws_closed, or
  // one the actor gave up on.
  void forget(std::uint64_t id);
  std::size_t open_count() const { return clients_.size(); }
  void clear() { clients_.clear(); }

 private:
  caf::actor_addr owner_;
  http::WebSocketOptions options_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::unique_ptr<http::WebSocketClient>> clients_;
};

}  // namespace sb::actors
