#include "actors/app/admin/channels_routes.hpp"

#include "channels/webhooks/webhook_dispatch.hpp"
#include "runtime/http/message.hpp"

namespace sb::app::admin {
namespace {

std::string json_string(std::string_view s) {
  return "\"" + http::json_escape(s) + "\"";
}

}  // namespace

std::string channels_json(const BotList& bots, const ChannelCountsOf& counts) {
  std::string out = "{\"channels\":[";
  bool first = true;
  for (const auto& b : bots) {
    const std::string id = b->id();
    const ChannelCounts n = counts ? counts(id) : ChannelCounts{};
    if (!first) out += ',';
    first = false;
    out +=
        "{\"id\":" + json_string(id) + ",\"platform\":" + json_string(messaging::channel_name(b->kind())) +
        ",\"name\":" + json_string(b->name()) + ",\"mode\":" + json_string(config::to_string(b->mode())) +
        ",\"webhookPath\":" + (b->polling() ? std::string("null") : json_string(channels::webhooks::webhook_path(*b))) +
        ",\"canSend\":" + (b->can_send() ? "true" : "false") + ",\"apiBaseUrl\":" + json_string(b->base_url()) +
        ",\"received\":" + std::to_string(n.received) + ",\"rejected\":" + std::to_string(n.rejected) +
        ",\"connection\":" +
        (n.connection.empty()
             ? std::string("null")
             : "{\"state\":" + json_string(n.connection) + ",\"detail\":" + json_string(n.connection_detail) +
                   ",\"fatal\":" + (n.connection_fatal ? "true" : "false") + "}") +
        "}";
  }
  return out + "]}";
}

void add_channels_routes(http::Router& api, BotList bots, ChannelCountsOf counts) {
  api.add("GET", "/api/v1/container/channels",
          [bots = std::move(bots), counts = std::move(counts)](const http::Request&, http::Reply reply) {
            reply(http::Response::json(200, channels_json(bots, counts)));
          });
}

}  // namespace sb::app::admin
