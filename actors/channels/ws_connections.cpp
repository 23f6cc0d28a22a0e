#include "actors/channels/ws_connections.hpp"

#include <caf/all.hpp>

#include "actors/protocol.hpp"

namespace sb::actors {

std::uint64_t WsConnections::connect(std::string url) {
  const std::uint64_t id = next_id_++;
  caf::actor_addr owner = owner_;
  auto to_owner = [owner](auto... args) {
    if (auto target = caf::actor_cast<caf::actor>(owner)) caf::anon_send(target, std::move(args)...);
  };
  http::WebSocketEvents events;
  events.on_open = [to_owner, id] { to_owner(ws_open_atom::value, id); };
  events.on_text = [to_owner, id](std::string text) { to_owner(ws_text_atom::value, id, std::move(text)); };
  events.on_closed = [to_owner, id](http::WebSocketClosed closed) {
    const bool clean = closed.error.code.empty() && (closed.why == http::WebSocketClosed::Why::peer_closed ||
                                                     closed.why == http::WebSocketClosed::Why::local_close);
    std::string why(http::to_string(closed.why));
    if (!closed.error.code.empty()) why += ": " + closed.error.code + " " + closed.error.message;
    if (!closed.reason.empty()) why += " (" + closed.reason + ")";
    to_owner(ws_closed_atom::value, id, closed.code ? static_cast<int32_t>(*closed.code) : int32_t{-1}, clean,
             std::move(why));
  };
  auto client = std::make_unique<http::WebSocketClient>(options_, std::move(events));
  client->connect(std::move(url));
  clients_[id] = std::move(client);
  return id;
}

void WsConnections::send(std::uint64_t id, std::string text) {
  if (auto it = clients_.find(id); it != clients_.end()) it->second->send(std::move(text));
}

void WsConnections::close(std::uint64_t id, std::uint16_t code) {
  if (auto it = clients_.find(id); it != clients_.end()) it->second->close(code);
}

void WsConnections::drop(std::uint64_t id) {
  if (auto it = clients_.find(id); it != clients_.end()) it->second->drop();
}

void WsConnections::forget(std::uint64_t id) {
  clients_.erase(id);
}

}  // namespace sb::actors
