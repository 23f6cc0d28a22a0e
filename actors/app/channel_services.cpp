#include "actors/app/channel_services.hpp"

#include <filesystem>

#include "actors/channels/ingest_sink.hpp"
#include "channels/factory/bot_factory.hpp"
#include "channels/webhooks/webhook_dispatch.hpp"
#include "channels/webhooks/webhook_listener.hpp"
#include "runtime/core/fs.hpp"
#include "runtime/core/log.hpp"
#include "storage/vault_store.hpp"

namespace sb::app {
namespace {

bool takes_webhooks(const BotList& bots) {
  for (const auto& b : bots)
    if (!b->polling()) return true;
  return false;
}

}  // namespace

Result<BotList> make_channel_bots(const config::Config& config, std::shared_ptr<const storage::Vault> vault) {
  return channels::make_bots(config, storage::make_secret_lookup(std::move(vault)));
}

std::string listener_url(bool tls, const std::string& address, uint16_t port) {
  std::string host = address;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(tls ? "https" : "http") + "://" + host + ":" + std::to_string(port);
}

ChannelServices::ChannelServices(caf::actor_system& system, const config::Config& config, BotList bots, AuditSink audit,
                                 metrics::Registry* metrics)
    : system_(system), config_(config), bots_(std::move(bots)), audit_(std::move(audit)), metrics_(metrics) {}

ChannelServices::~ChannelServices() {
  stop();
}

Status ChannelServices::start() {
  for (const auto& b : bots_)
    log::info("channel.bot", {{"id", b->id()},
                              {"mode", std::string(config::to_string(b->mode()))},
                              {"can_send", b->can_send()},
                              {"api", b->base_url()}});
  if (!takes_webhooks(bots_)) return {};
  auto options = channels::webhooks::listener_options(config_.webhooks);
  options.audit = audit_;
  options.metrics = metrics_;
  listener_ = std::make_unique<channels::webhooks::WebhookListener>(actors::make_ingest_sink(system_), bots_,
                                                                    std::move(options));
  auto port = listener_->start();
  if (!port) {
    listener_.reset();
    return port.error();
  }
  url_file_ = config_.node.data_dir + "/webhooks.url";
  const std::string url = listener_url(listener_->tls(), config_.webhooks.address, *port);
  if (auto st = write_file_atomic(url_file_, url + "\n", {.mode = 0644, .durable = false}); !st)
    log::warn("webhook.url_file_failed", {{"file", url_file_}, {"error", st.error().message}});
  log::info("webhook.url", {{"url", url}, {"file", url_file_}});
  return {};
}

void ChannelServices::stop_accepting() {
  if (listener_) listener_->stop_accepting();
}

void ChannelServices::stop() {
  if (listener_) listener_->stop(std::chrono::milliseconds(config_.webhooks.ack_timeout_ms));
  if (!url_file_.empty()) {
    std::error_code ec;
    std::filesystem::remove(url_file_, ec);
    url_file_.clear();
  }
}

uint16_t ChannelServices::webhook_port() const {
  return listener_ ? listener_->port() : 0;
}

admin::ChannelCounts ChannelServices::counts(const std::string& bot_id) const {
  if (!listener_) return {};
  const auto n = listener_->counts(bot_id);
  admin::ChannelCounts out;
  out.received = n.received;
  out.rejected = n.rejected;
  return out;
}

}  // namespace sb::app
