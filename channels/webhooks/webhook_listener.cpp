#include "channels/webhooks/webhook_listener.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

#include "channels/webhooks/ack_deadlines.hpp"
#include "channels/webhooks/webhook_dispatch.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/throttled_audit_sink.hpp"
#include "runtime/core/utf8.hpp"

namespace sb::channels::webhooks {
namespace {

using Clock = std::chrono::steady_clock;

// Values of the `result` label of squadbox_webhook_requests_total.
constexpr std::array<std::string_view, 8> kResults{
    "accepted", "ignored", "handshake", "rejected", "malformed", "method_not_allowed", "not_found", "unavailable"};

size_t result_index(std::string_view result) {
  for (size_t i = 0; i < kResults.size(); ++i)
    if (kResults[i] == result) return i;
  return kResults.size() - 1;  // unreachable for decide()'s results; counted as unavailable
}

const std::vector<double>& ack_bounds() {
  static const std::vector<double> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
  return bounds;
}

// What one label set (platform, bot) has seen. Bots have one each; "platform/" stands
// for unknown bots of a known platform and "unknown/" for every other path.
struct Stats {
  std::string platform;
  std::string bot;
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> rejected{0};
  std::array<std::atomic<metrics::Counter*>, kResults.size()> counters{};
};

std::string json_string(std::string_view s) {
  return "\"" + http::json_escape(s) + "\"";
}

}  // namespace

WebhookListenerOptions listener_options(const config::WebhooksConfig& c) {
  WebhookListenerOptions o;
  o.server.name = "webhooks";
  o.server.address = c.address;
  o.server.port = static_cast<uint16_t>(c.port);
  o.server.body_limit = static_cast<size_t>(c.body_limit_bytes);
  o.server.request_timeout = std::chrono::milliseconds(c.request_timeout_ms);
  o.server.idle_timeout = std::chrono::milliseconds(c.idle_timeout_ms);
  o.server.threads = static_cast<int>(c.threads);
  o.server.max_connections = static_cast<size_t>(c.max_connections);
  o.server.max_connections_per_remote = static_cast<size_t>(c.max_connections_per_remote);
  o.server.tls_cert_file = c.tls_cert_file;
  o.server.tls_key_file = c.tls_key_file;
  o.ack_timeout = std::chrono::milliseconds(c.ack_timeout_ms);
  o.max_in_flight = static_cast<size_t>(c.max_in_flight);
  o.reject_audit_interval = std::chrono::milliseconds(c.reject_audit_interval_ms);
  return o;
}

struct WebhookListener::Core {
  Core(IngestSink s, const std::vector<std::shared_ptr<const ChannelBot>>& bots, WebhookListenerOptions o)
      : sink(std::move(s)), table(bots), options(std::move(o)) {
    if (!options.clock) options.clock = [] { return std::chrono::system_clock::now(); };
    auto add = [&](const std::string& platform, const std::string& bot) {
      auto s = std::make_unique<Stats>();
      s->platform = platform;
      s->bot = bot;
      stats.emplace(platform + "/" + bot, std::move(s));
    };
    add("unknown", "");
    for (auto kind : {messaging::ChannelKind::slack, messaging::ChannelKind::discord, messaging::ChannelKind::whatsapp,
                      messaging::ChannelKind::telegram})
      add(std::string(messaging::channel_name(kind)), "");
    for (const auto& bot : bots)
      if (bot && !bot->polling()) add(std::string(messaging::channel_name(bot->kind())), bot->name());
    if (options.audit)
      reject_audit = std::make_unique<ThrottledAuditSink>(
          options.audit, EventThrottle<AuditRecord>::Options{options.reject_audit_interval, 4096});
    if (options.metrics)
      ack_seconds = &options.metrics->histogram("squadbox_webhook_ack_seconds",
                                                "Webhook delivery from request to durable ack", ack_bounds());
  }

  Stats& stats_for(const std::string& platform, const std::string& bot) {
    auto it = stats.find(platform + "/" + bot);
    if (it == stats.end()) it = stats.find("unknown/");
    return *it->second;
  }

  void count(Stats& s, std::string_view result) {
    if (!options.metrics) return;
    auto& slot = s.counters[result_index(result)];
    metrics::Counter* c = slot.load(std::memory_order_acquire);
    if (!c) {
      // The registry hands out stable references; racing threads resolve the same one.
      c = &options.metrics->counter("squadbox_webhook_requests_total", "Webhook requests by outcome",
                                    {{"platform", s.platform}, {"bot", s.bot}, {"result", std::string(result)}});
      slot.store(c, std::memory_order_release);
    }
    c->inc();
  }

  void reject(Stats& s, const WebhookDecision& d, const http::Request& req) {
    s.rejected.fetch_add(1, std::memory_order_relaxed);
    if (options.metrics)
      options.metrics
          ->counter("squadbox_webhook_rejects_total", "Webhook requests refused by verification",
                    {{"platform", d.platform}, {"bot", d.bot}, {"reason", d.reason}})
          .inc();
    // Never the body or a header value: only what identifies the attempt.
    const std::string remote = utf8::truncate(req.remote_address, 64);
    const std::string detail = "{\"platform\":" + json_string(d.platform) + ",\"bot\":" + json_string(d.bot) +
                               ",\"reason\":" + json_string(d.reason) +
                               ",\"status\":" + std::to_string(d.response.status) +
                               ",\"remote\":" + json_string(remote) + "}";
    // The log line follows the audit record: a flood logs one line per key and interval.
    const bool recorded = !reject_audit || reject_audit->offer(d.platform + "/" + d.bot + "/" + d.reason + "/" + remote,
                                                               AuditRecord{"webhook", "channel.webhook_rejected",
                                                                           d.platform + "/" + d.bot, detail});
    if (recorded)
      log::info("webhook.rejected", {{"platform", d.platform},
                                     {"bot", d.bot},
                                     {"reason", d.reason},
                                     {"status", d.response.status},
                                     {"remote", remote}});
  }

  void handle(const std::shared_ptr<Core>& self, const http::Request& req, http::Reply reply) {
    const auto started = Clock::now();
    WebhookDecision d = decide(table, req, options.clock());
    Stats& s = stats_for(d.platform, d.bot);
    switch (d.kind) {
      case WebhookDecision::Kind::reject:
        count(s, d.result);
        if (d.response.status == 401 || d.response.status == 403) {
          reject(s, d, req);
        } else {
          log::info("webhook.bad_request",
                    {{"platform", d.platform}, {"bot", d.bot}, {"reason", d.reason}, {"remote", req.remote_address}});
        }
        reply(std::move(d.response));
        return;
      case WebhookDecision::Kind::respond:
        count(s, d.result);
        if (d.result == "ignored") s.received.fetch_add(1, std::memory_order_relaxed);
        if (d.result == "malformed")
          log::info("webhook.malformed",
                    {{"platform", d.platform}, {"bot", d.bot}, {"reason", d.reason}, {"remote", req.remote_address}});
        else if (d.result == "not_found")
          log::debug("webhook.not_found", {{"reason", d.reason}, {"remote", req.remote_address}});
        reply(std::move(d.response));
        return;
      case WebhookDecision::Kind::deliver:
        s.received.fetch_add(1, std::memory_order_relaxed);
        deliver(self, s, std::move(d), std::move(reply), started);
        return;
    }
  }

  // One delivery waiting for its durable ack. Settled exactly once: by the ingest's
  // callback, by the ack deadline, or (if the ingest drops it unanswered) on destruction.
  struct PendingAck {
    std::shared_ptr<Core> core;
    Stats* stats = nullptr;
    http::Reply reply;
    std::string ack;
    Clock::time_point started;
    size_t messages = 0;
    std::atomic<bool> settled{false};

    void settle(const std::string& error) {
      if (settled.exchange(true)) return;
      if (error.empty()) {
        core->count(*stats, "accepted");
        if (core->ack_seconds)
          core->ack_seconds->observe(std::chrono::duration<double>(Clock::now() - started).count());
        reply(ack_response(ack));
      } else {
        core->count(*stats, "unavailable");
        log::warn("webhook.not_stored", {{"platform", stats->platform},
                                         {"bot", stats->bot},
                                         {"messages", static_cast<int64_t>(messages)},
                                         {"error", error}});
        reply(http::Response::error(503, "unavailable", "message not stored; retry later"));
      }
      core->done();
    }
    ~PendingAck() { settle("ingest dropped the delivery"); }
  };

  // Stores the batch through the sink; answers once it is durable (or 503). No timer is
  // armed per request: the sink calls back, and one watcher thread enforces ack_timeout
  // for all deliveries.
  void deliver(const std::shared_ptr<Core>& self, Stats& s, WebhookDecision d, http::Reply reply,
               Clock::time_point started) {
    if (in_flight.fetch_add(1) >= options.max_in_flight) {
      done();
      count(s, "unavailable");
      if (options.metrics)
        options.metrics
            ->counter("squadbox_webhook_overloaded_total",
                      "Deliveries refused at once because too many waited for their durable ack")
            .inc();
      auto res = http::Response::error(503, "overloaded", "too many deliveries in flight; retry later");
      res.headers.emplace_back("Retry-After", "1");
      reply(std::move(res));
      return;
    }
    auto pending = std::make_shared<PendingAck>();
    pending->core = self;
    pending->stats = &s;
    pending->reply = std::move(reply);
    pending->ack = std::move(d.ack_body);
    pending->started = started;
    pending->messages = d.messages.size();
    std::weak_ptr<PendingAck> weak = pending;
    deadlines.add(started + options.ack_timeout, weak, [weak] {
      if (auto p = weak.lock()) p->settle("not durable within webhooks.ack_timeout_ms");
    });
    const bool taken = sink && sink(std::move(d.messages), [pending](Status stored) {
                         pending->settle(stored ? std::string() : stored.error().message);
                       });
    if (!taken) {
      // Nothing was handed over: answer now, without the deadline or the drain count.
      pending->settled = true;
      done();
      count(s, "unavailable");
      log::warn("webhook.ingest_unavailable", {{"platform", d.platform}, {"bot", d.bot}});
      pending->reply(http::Response::error(503, "unavailable", "message store not ready; retry later"));
    }
  }

  void done() {
    std::lock_guard lk(drain_mutex);
    if (in_flight.fetch_sub(1) == 1) drained.notify_all();
  }

  void wait_drained(std::chrono::milliseconds limit) {
    std::unique_lock lk(drain_mutex);
    drained.wait_for(lk, limit, [this] { return in_flight.load() == 0; });
  }

  const IngestSink sink;
  const BotTable table;
  WebhookListenerOptions options;
  std::map<std::string, std::unique_ptr<Stats>> stats;  // fixed after construction
  metrics::Histogram* ack_seconds = nullptr;
  std::unique_ptr<ThrottledAuditSink> reject_audit;
  std::atomic<size_t> in_flight{0};
  std::mutex drain_mutex;
  std::condition_variable drained;
  AckDeadlines deadlines;
};

WebhookListener::WebhookListener(IngestSink sink, const std::vector<std::shared_ptr<const ChannelBot>>& bots,
                                 WebhookListenerOptions options)
    : core_(std::make_shared<Core>(std::move(sink), bots, std::move(options))) {
  server_ = std::make_unique<http::Server>(
      core_->options.server,
      [core = core_](const http::Request& req, http::Reply reply) { core->handle(core, req, std::move(reply)); },
      core_->options.metrics);
}

WebhookListener::~WebhookListener() {
  stop();
}

Result<uint16_t> WebhookListener::start() {
  auto port = server_->start();
  if (port)
    log::info(
        "webhook.listening",
        {{"address", core_->options.server.address}, {"port", *port}, {"tls", tls()}, {"bots", core_->table.size()}});
  return port;
}

void WebhookListener::stop_accepting() {
  server_->stop_accepting();
}

void WebhookListener::stop(std::chrono::milliseconds drain) {
  server_->stop_accepting();
  if (drain.count() > 0) core_->wait_drained(drain);
  server_->stop();
  core_->deadlines.stop();
}

uint16_t WebhookListener::port() const {
  return server_->port();
}

bool WebhookListener::tls() const {
  return !core_->options.server.tls_cert_file.empty();
}

WebhookCounts WebhookListener::counts(const std::string& bot_id) const {
  auto it = core_->stats.find(bot_id);
  if (it == core_->stats.end() || it->second->bot.empty()) return {};
  return {it->second->received.load(), it->second->rejected.load()};
}

size_t WebhookListener::in_flight() const {
  return core_->in_flight.load();
}

}  // namespace sb::channels::webhooks
