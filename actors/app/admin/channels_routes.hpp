#pragma once
// GET /api/v1/container/channels: every configured bot with its mode, webhook path and
// delivery counts.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "channels/bot/channel_bot.hpp"
#include "runtime/http/router.hpp"

namespace sb::app::admin {

using BotList = std::vector<std::shared_ptr<const channels::ChannelBot>>;

struct ChannelCounts {
  uint64_t received = 0;
  uint64_t rejected = 0;
  // Bots that connect out (polling, gateway, socket): their connection as its actor
  // reports it ("" = no report yet, or a webhook bot).
  std::string connection;
  std::string connection_detail;
  bool connection_fatal = false;
};
using ChannelCountsOf = std::function<ChannelCounts(const std::string& bot_id)>;

// The response body for these bots and counts (pure).
std::string channels_json(const BotList& bots, const ChannelCountsOf& counts);

// `counts` is called on the HTTP threads; what it reads must outlive the router.
void add_channels_routes(http::Router& api, BotList bots, ChannelCountsOf counts);

}  // namespace sb::app::admin
