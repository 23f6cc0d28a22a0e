#pragma once
// The public webhook listener: an HTTP(S) server separate from the admin API that runs
// every request through decide() (webhook_dispatch.hpp) and, for a delivery carrying
// messages, hands them to its IngestSink (the broker's ingest actor). The 2xx goes out
// only once the sink says they are durably stored; an error or ack_timeout answers 503
// so the platform retries (the ingest deduplicates the retry). Rejected requests
// are counted and audited (`channel.webhook_rejected`, never the body), aggregated per
// bot, reason and remote address and interval so that a flood cannot grow the log.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "channels/bot/channel_bot.hpp"
#include "runtime/config/config.hpp"
#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"
#include "runtime/core/result.hpp"
#include "runtime/http/server.hpp"

namespace sb::channels::webhooks {

// Called exactly once: ok once every message of the batch is durably stored (or was a
// duplicate), else why nothing can be assumed stored. Any thread may call it.
using IngestCallback = std::function<void(Status)>;
// Takes a verified, parsed batch for durable storage. False: nothing can take it now
// (the listener answers 503 at once and `callback` is never called).
using IngestSink = std::function<bool(std::vector<messaging::InboundMessage>, IngestCallback callback)>;

struct WebhookListenerOptions {
  http::ServerOptions server;  // name "webhooks"
  // Longest wait for the ingest's answer; keep it well inside the platforms' 3 s.
  std::chrono::milliseconds ack_timeout{2500};
  // Deliveries waiting for their durable ack at once; beyond it a delivery gets 503 at
  // once instead of queueing in memory behind a stalled disk (the platform retries).
  size_t max_in_flight = 1000;
  AuditSink audit;  // may be empty
  // Rejected requests are audited once per (platform, bot, reason, remote) and interval;
  // the rest of a flood is counted into one summary record (docs/security-audit.md).
  std::chrono::milliseconds reject_audit_interval{60000};
  metrics::Registry* metrics = nullptr;  // not owned; may be null; must outlive the actor system's use
  // Verification clock (timestamps windows); tests move it.
  std::function<std::chrono::system_clock::time_point()> clock;
};

// From `[webhooks]`.
WebhookListenerOptions listener_options(const config::WebhooksConfig& config);

// Per bot, since start: deliveries that passed verification, and verification rejects.
struct WebhookCounts {
  uint64_t received = 0;
  uint64_t rejected = 0;
};

class WebhookListener {
 public:
  // Polling bots get no route.
  WebhookListener(IngestSink sink, const std::vector<std::shared_ptr<const ChannelBot>>& bots,
                  WebhookListenerOptions options);
  ~WebhookListener();  // stop()
  WebhookListener(const WebhookListener&) = delete;
  WebhookListener& operator=(const WebhookListener&) = delete;

  // Errors as http::Server::start ("http.bind", "http.tls", ...).
  Result<uint16_t> start();
  void stop_accepting();
  // Waits up to `drain` for deliveries still being stored (so their 2xx goes out), then
  // closes every connection and joins the threads. Idempotent.
  void stop(std::chrono::milliseconds drain = std::chrono::milliseconds(0));
  uint16_t port() const;
  bool tls() const;
  WebhookCounts counts(const std::string& bot_id) const;  // zeros for an unknown id
  size_t in_flight() const;                               // deliveries awaiting the sink

 private:
  struct Core;
  std::shared_ptr<Core> core_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace sb::channels::webhooks
