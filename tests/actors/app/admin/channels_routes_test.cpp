// GET /api/v1/container/channels: the body for a set of bots, with each bot's mode and,
// for a bot that connects out, its connection as the connection board has it.
#include "actors/app/admin/channels_routes.hpp"

#include <gtest/gtest.h>

#include "channels/factory/bot_factory.hpp"

namespace {

using sb::app::admin::ChannelCounts;

std::shared_ptr<const sb::channels::ChannelBot> gateway_bot() {
  sb::config::ChannelBotConfig c;
  c.platform = "discord";
  c.name = "gw";
  c.mode = sb::config::BotMode::gateway;
  c.secrets = {{"bot_token", "t"}};
  auto bot = sb::channels::make_bot(c, [](const std::string&) -> sb::Result<sb::Secret> { return sb::Secret("tok"); });
  EXPECT_TRUE(bot.ok()) << bot.error().message;
  return std::shared_ptr<const sb::channels::ChannelBot>(std::move(*bot));
}

TEST(ChannelsJson, AGatewayBotShowsItsModeAndItsConnection) {
  auto bot = gateway_bot();
  const std::string idle = sb::app::admin::channels_json({bot}, {});
  EXPECT_NE(idle.find(R"("mode":"gateway")"), std::string::npos) << idle;
  EXPECT_NE(idle.find(R"("connection":null)"), std::string::npos) << idle;
  const std::string fatal = sb::app::admin::channels_json({bot}, [](const std::string& id) {
    ChannelCounts n;
    EXPECT_EQ(id, "discord/gw");
    n.connection = "stopped_fatal";
    n.connection_detail = "Authentication \"failed\"";
    n.connection_fatal = true;
    return n;
  });
  EXPECT_NE(fatal.find(R"("connection":{"state":"stopped_fatal","detail":"Authentication \"failed\"","fatal":true})"),
            std::string::npos)
      << fatal;
}

}  // namespace
