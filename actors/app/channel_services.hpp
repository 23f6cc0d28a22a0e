#pragma once
// The node's chat channels at start-up: the bots built from `[channels.*]` with their
// credentials from the vault, the public webhook listener (when a bot takes webhooks,
// with DATA_DIR/webhooks.url).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/app/admin/channels_routes.hpp"
#include "channels/bot/channel_bot.hpp"
#include "runtime/config/config.hpp"
#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"
#include "runtime/core/result.hpp"
#include "runtime/http/router.hpp"

namespace caf {
class actor_system;
}
namespace sb::storage {
class Vault;
}
namespace sb::channels::webhooks {
class WebhookListener;
}

namespace sb::app {

using admin::BotList;

// Every enabled bot. Errors: "channel.secret" (a named vault entry is missing; the
// message names it), "channel.config".
Result<BotList> make_channel_bots(const config::Config& config, std::shared_ptr<const storage::Vault> vault);

// "http://127.0.0.1:8080" for a listener on 0.0.0.0:8080 (a wildcard address is written
// as loopback, so that local tools can use the file as it is).
std::string listener_url(bool tls, const std::string& address, uint16_t port);

class ChannelServices {
 public:
  // `system`, `metrics` (may be null) must outlive this object.
  ChannelServices(caf::actor_system& system, const config::Config& config, BotList bots, AuditSink audit,
                  metrics::Registry* metrics);
  ~ChannelServices();  // stop()
  ChannelServices(const ChannelServices&) = delete;
  ChannelServices& operator=(const ChannelServices&) = delete;

  // Starts the webhook listener if an enabled bot takes webhooks and writes
  // DATA_DIR/webhooks.url; no such bot: nothing to do. Errors: "http.bind", "http.tls".
  Status start();
  void stop_accepting();
  // Lets deliveries being stored finish (up to webhooks.ack_timeout_ms), closes the
  // listener and removes webhooks.url. Idempotent.
  void stop();

  const BotList& bots() const { return bots_; }
  uint16_t webhook_port() const;  // 0 when no listener runs
  // Webhook deliveries received and rejected per bot since start (zeros without a listener).
  admin::ChannelCounts counts(const std::string& bot_id) const;

 private:
  caf::actor_system& system_;
  const config::Config& config_;
  BotList bots_;
  AuditSink audit_;
  metrics::Registry* metrics_;
  std::unique_ptr<channels::webhooks::WebhookListener> listener_;
  std::string url_file_;
};

}  // namespace sb::app
