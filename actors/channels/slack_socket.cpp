#include "actors/channels/slack_socket.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <utility>

#include <caf/all.hpp>

#include "actors/channels/http_worker.hpp"
#include "actors/channels/ws_connections.hpp"
#include "actors/supervision/supervisor.hpp"
#include "channels/slack/socket_mode_session.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/text.hpp"
#include "runtime/core/time.hpp"
#include "runtime/http/message.hpp"
#include "runtime/messaging/stored_message.hpp"

namespace sb::actors {
namespace {

namespace sm = channels::slack::socket_mode;
using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kOpenTimeout{15000};
constexpr const char* kUserAgent = "squadbox (Slack Socket Mode)";
// Shutdown waits this long for the sockets' close handshakes (WebSocketOptions'
// close_timeout is 2 s), then quits anyway.
constexpr std::chrono::milliseconds kShutdownWait{3000};
// ws_timer kind beyond the session's own: the shutdown wait is over.
constexpr uint8_t kShutdownTimer = 200;

using TimerKey = std::pair<sm::TimerKind, sm::Generation>;

struct slack_socket_state {
  SlackSocketOptions options;
  std::string bot_id;
  std::unique_ptr<sm::Session> session;
  std::unique_ptr<WsConnections> sockets;
  std::unique_ptr<HttpWorker> http;
  // The session names sockets by generation, WsConnections by its own id.
  std::map<sm::Generation, uint64_t> socket_of;
  std::map<uint64_t, sm::Generation> gen_of;
  // A delayed message cannot be taken back: each timer's message carries a token, and
  // only the token of the (kind, generation)'s latest StartTimer is still live.
  std::map<TimerKey, uint64_t> timer_token;
  std::map<uint64_t, TimerKey> timer_of;
  uint64_t next_token = 1;
  sm::Counters published;  // what the metrics already count
  std::string fatal_detail;
  std::string last_reason = "starting";
  std::string board_state;
  int64_t board_since_ms = 0;
  // Shutting down: answered once every socket reported its close (or kShutdownWait).
  std::optional<caf::typed_response_promise<bool>> shutdown;
  static inline const char* name = "slack_socket";
};

using self_ptr = ws_bot_actor::stateful_pointer<slack_socket_state>;

void run(self_ptr self, sm::Effects effects);

void count(self_ptr self, const std::string& name, const std::string& help, metrics::Labels labels = {},
           uint64_t n = 1) {
  if (!self->state.options.metrics || n == 0) return;
  labels.emplace_back("bot", self->state.bot_id);
  self->state.options.metrics->counter(name, help, labels).inc(n);
}

void gauge(self_ptr self, const std::string& name, const std::string& help, double value) {
  if (!self->state.options.metrics) return;
  self->state.options.metrics->gauge(name, help, {{"bot", self->state.bot_id}}).set(value);
}

// The session's counters are totals; the metrics get what grew since the last effects.
void publish_counters(self_ptr self) {
  auto& st = self->state;
  if (!st.options.metrics) return;
  const sm::Counters& c = st.session->counters();
  sm::Counters& p = st.published;
  auto add = [&](const char* name, const char* help, uint64_t now, uint64_t& before, metrics::Labels labels = {}) {
    if (now <= before) return;
    count(self, name, help, std::move(labels), now - before);
    before = now;
  };
  add("squadbox_slack_socket_opens_total", "apps.connections.open calls (retries included).", c.opens, p.opens);
  add("squadbox_slack_socket_open_errors_total", "apps.connections.open calls that failed or were refused.",
      c.open_errors, p.open_errors);
  add("squadbox_slack_socket_envelopes_total", "Socket Mode envelopes received on usable sockets.", c.envelopes,
      p.envelopes);
  add("squadbox_slack_socket_acks_total", "Envelopes acknowledged (after their messages were committed).",
      c.envelopes_acked, p.envelopes_acked);
  add("squadbox_slack_socket_acks_lost_total",
      "Envelopes committed after their socket was gone: not acknowledged, Slack redelivers.", c.acks_lost, p.acks_lost);
  add("squadbox_slack_socket_commit_failures_total",
      "Envelopes not acknowledged because storage did not commit in time (Slack redelivers).", c.commit_failures,
      p.commit_failures);
  add("squadbox_slack_socket_malformed_total", "Frames or payloads that could not be read.", c.malformed_frames,
      p.malformed_frames, {{"what", "frame"}});
  add("squadbox_slack_socket_malformed_total", "Frames or payloads that could not be read.", c.malformed_payloads,
      p.malformed_payloads, {{"what", "payload"}});
  add("squadbox_slack_socket_unknown_envelopes_total", "Envelopes of a type squadbox does not know (acknowledged).",
      c.unknown_envelopes, p.unknown_envelopes);
  add("squadbox_slack_socket_refreshes_total", "Replacement connections that took over from a refreshed one.",
      c.refreshes, p.refreshes);
  for (std::size_t i = 0; i < sm::kReconnectReasons; ++i)
    add("squadbox_slack_socket_reconnects_total", "New connections by the reason the previous one ended.",
        c.reconnects[i], p.reconnects[i],
        {{"reason", std::string(sm::to_string(static_cast<sm::ReconnectReason>(i)))}});
}

// One word for the bot's connection: the board, /readyz and `squadbox channels list`.
std::string overall_state(const sm::Session& s) {
  if (s.fatal_reason()) return "stopped_fatal";
  if (s.stopped()) return "stopped";
  const auto conns = s.connections();
  auto any = [&](sm::ConnState state) {
    return std::any_of(conns.begin(), conns.end(), [&](const sm::ConnectionView& c) { return c.state == state; });
  };
  if (any(sm::ConnState::ready)) return "ready";
  // Slack asked this socket to go; it still works while the replacement comes up.
  if (any(sm::ConnState::draining)) return "refreshing";
  if (conns.empty()) return "starting";
  const sm::ConnState newest = conns.back().state;
  return newest == sm::ConnState::waiting ? "backing_off" : std::string(sm::to_string(newest));
}

std::string overall_detail(self_ptr self) {
  const auto& st = self->state;
  if (!st.fatal_detail.empty()) return st.fatal_detail;
  const auto& c = st.session->counters();
  std::uint64_t reconnects = 0;
  for (auto n : c.reconnects) reconnects += n;
  const auto num = st.session->last_num_connections();
  return std::to_string(c.envelopes) + " envelopes, " + std::to_string(c.envelopes_acked) + " acked, " +
         std::to_string(c.commit_failures) + " commit failures, " + std::to_string(reconnects) +
         " reconnects, num_connections " + (num ? std::to_string(*num) : std::string("unknown")) +
         ", last: " + st.last_reason;
}

void report(self_ptr self) {
  auto& st = self->state;
  publish_counters(self);
  const std::string state = overall_state(*st.session);
  if (state != st.board_state) {
    st.board_state = state;
    st.board_since_ms = now_ms();
  }
  if (st.options.metrics) {
    const auto conns = st.session->connections();
    gauge(self, "squadbox_slack_socket_ready", "1 while a Socket Mode connection is usable.",
          state == "ready" || state == "refreshing" ? 1 : 0);
    gauge(self, "squadbox_slack_socket_sockets", "Socket Mode WebSockets of this bot (two during a refresh).",
          static_cast<double>(st.socket_of.size()));
    if (auto num = st.session->last_num_connections())
      gauge(self, "squadbox_slack_socket_num_connections",
            "Connections Slack counts for the app (all processes on the app token), from the last hello.",
            static_cast<double>(*num));
  }
  if (!st.options.board) return;
  ConnectionReport r;
  r.state = state;
  r.fatal = st.session->fatal_reason().has_value();
  r.detail = overall_detail(self);
  r.since_ms = st.board_since_ms;
  st.options.board->set(st.bot_id, std::move(r));
}

// The session's "gen=2 reason=warning message=\"...\"" as log fields, so a log search
// can filter on them; a token without '=' stays whole under "detail".
std::vector<std::pair<std::string, std::string>> detail_fields(std::string_view detail) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < detail.size()) {
    while (i < detail.size() && detail[i] == ' ') ++i;
    if (i >= detail.size()) break;
    std::size_t key_end = i;
    while (key_end < detail.size() && detail[key_end] != ' ' && detail[key_end] != '=') ++key_end;
    if (key_end >= detail.size() || detail[key_end] != '=' || key_end == i) {
      out.emplace_back("detail", std::string(detail.substr(i, key_end - i)));
      i = key_end;
      continue;
    }
    std::string key(detail.substr(i, key_end - i));
    std::size_t v = key_end + 1;
    std::size_t end;
    std::string value;
    if (v < detail.size() && detail[v] == '"') {
      end = detail.find('"', v + 1);
      if (end == std::string_view::npos) end = detail.size();
      value = std::string(detail.substr(v + 1, end - v - 1));
      if (end < detail.size()) ++end;
    } else {
      end = std::min(detail.find(' ', v), detail.size());
      value = std::string(detail.substr(v, end - v));
    }
    out.emplace_back(std::move(key), std::move(value));
    i = end;
  }
  return out;
}

void write_log(self_ptr self, const sm::Log& e) {
  auto& st = self->state;
  // What the board shows as the last reason: trouble, and the connection's turns.
  if (e.level >= log::Level::warn || e.event == "slack.socket.disconnect" || e.event == "slack.socket.reconnect")
    st.last_reason = e.event.substr(e.event.rfind('.') + 1) + (e.detail.empty() ? "" : " " + e.detail);
  if (!log::enabled(e.level)) return;
  const auto parsed = detail_fields(e.detail);
  std::vector<log::Field> fields;
  fields.reserve(parsed.size() + 1);
  fields.emplace_back("bot", st.bot_id);
  for (const auto& [k, v] : parsed) fields.emplace_back(k, v);
  log::write(e.level, e.event, std::span<const log::Field>(fields.data(), fields.size()));
}

void open_connection(self_ptr self, sm::Generation gen) {
  auto& st = self->state;
  auto token = st.options.bot->connection_credential();
  if (!token) {
    run(self, st.session->on_open_failed(gen, token.error()));
    return;
  }
  HttpJob job;
  job.tag = gen;
  job.method = "POST";
  job.url = st.options.bot->base_url() + "/api/apps.connections.open";
  // The token only in the header: Slack refuses it as a form field.
  job.headers.emplace_back("Authorization", "Bearer " + token->reveal());
  job.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  job.headers.emplace_back("User-Agent", kUserAgent);
  job.client.timeout = kOpenTimeout;
  job.client.ca_file = st.options.ca_file;
  // One call at a time: the session asks for the next connection only once this one
  // is answered (or forgotten when it stops, where a late answer is stale).
  st.http->submit(std::move(job));
}

// The same durable path as the Events webhook: the ingest actor stores the messages
// (deduplicated by (slack, bot, event_id)) and answers once they are on disk.
void ingest(self_ptr self, sm::Ingest e) {
  auto& st = self->state;
  const sm::Generation gen = e.gen;
  auto failed = [self, gen, envelope = e.envelope_id](const std::string& why) {
    log::warn(
        "slack.socket.ingest_failed",
        {{"bot", self->state.bot_id}, {"gen", static_cast<int64_t>(gen)}, {"envelope_id", envelope}, {"error", why}});
    run(self, self->state.session->on_commit_failed(gen, envelope));
  };
  auto ingester = lookup<ingest_actor>(self->system(), "ingest");
  if (!ingester) return failed("ingest actor down");
  self->request(ingester, st.options.commit_timeout, ingest_atom::value,
                messaging::to_stored(std::move(e.delivery.messages)))
      .then(
          [self, gen, envelope = e.envelope_id, failed](const ingest_result& r) {
            if (!r.error.code.empty()) return failed(r.error.code + ": " + r.error.message);
            if (r.duplicates > 0)
              count(self, "squadbox_slack_socket_duplicates_total",
                    "Messages of envelopes already stored (Slack's redeliveries, deduplicated by event_id).", {},
                    r.duplicates);
            run(self, self->state.session->on_committed(gen, envelope));
          },
          // A timeout (storage slower than commit_timeout) or a dead ingest: not
          // acknowledged. A write still queued may commit later; Slack's redelivery
          // then finds it as a duplicate and is acknowledged.
          [self, failed](caf::error& err) { failed(self->system().render(err)); });
}

// Slash commands and interactions: a log line, not an audit record. The audit chain is
// for security decisions (a rejected webhook, a stopped connection); a slash command's
// message is stored like any other, and the webhook path does not audit them either.
void record(self_ptr self, const sm::Record& e) {
  const std::string kind(sm::to_string(e.kind));
  log::info("slack.socket.record", {{"bot", self->state.bot_id},
                                    {"gen", static_cast<int64_t>(e.gen)},
                                    {"envelope_id", e.envelope_id},
                                    {"kind", kind},
                                    {"summary", e.summary}});
  count(self, "squadbox_slack_socket_records_total", "Slash commands and interactions received.", {{"kind", kind}});
}

void fatal(self_ptr self, const sm::Fatal& f) {
  auto& st = self->state;
  const std::string reason(sm::to_string(f.reason));
  st.fatal_detail = reason + ": " + f.detail;
  // The session's own error line (slack.socket.fatal) is the log alert.
  count(self, "squadbox_slack_socket_fatal_total", "Socket Mode connections stopped for good (needs an operator).",
        {{"reason", reason}});
  if (st.options.audit) {
    std::string detail =
        "{\"code\":\"" + http::json_escape(reason) + "\",\"reason\":\"" + http::json_escape(f.detail) + "\"}";
    st.options.audit(AuditRecord{"channel:" + st.bot_id, "channel.connection_stopped", st.bot_id, std::move(detail)});
  }
}

void start_timer(self_ptr self, const sm::StartTimer& e) {
  auto& st = self->state;
  const TimerKey key{e.kind, e.gen};
  if (auto it = st.timer_token.find(key); it != st.timer_token.end()) st.timer_of.erase(it->second);
  const uint64_t token = st.next_token++;
  st.timer_token[key] = token;
  st.timer_of[token] = key;
  self->delayed_send(self, e.delay, ws_timer_atom::value, static_cast<uint8_t>(e.kind), token);
}

void cancel_timer(self_ptr self, const sm::CancelTimer& e) {
  auto& st = self->state;
  if (auto it = st.timer_token.find({e.kind, e.gen}); it != st.timer_token.end()) {
    st.timer_of.erase(it->second);
    st.timer_token.erase(it);
  }
}

void run(self_ptr self, sm::Effects effects) {
  auto& st = self->state;
  for (auto& effect : effects) {
    std::visit(
        [&](auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, sm::OpenConnection>) {
            open_connection(self, e.gen);
          } else if constexpr (std::is_same_v<T, sm::ConnectWs>) {
            // Never logged: the URL carries the connection ticket.
            const uint64_t id = st.sockets->connect(std::move(e.url));
            st.socket_of[e.gen] = id;
            st.gen_of[id] = e.gen;
          } else if constexpr (std::is_same_v<T, sm::Send>) {
            if (auto it = st.socket_of.find(e.gen); it != st.socket_of.end())
              st.sockets->send(it->second, std::move(e.text));
          } else if constexpr (std::is_same_v<T, sm::Close>) {
            // ws_closed follows (exactly once per socket) and becomes on_closed.
            if (auto it = st.socket_of.find(e.gen); it != st.socket_of.end()) st.sockets->close(it->second, 1000);
          } else if constexpr (std::is_same_v<T, sm::StartTimer>) {
            start_timer(self, e);
          } else if constexpr (std::is_same_v<T, sm::CancelTimer>) {
            cancel_timer(self, e);
          } else if constexpr (std::is_same_v<T, sm::Ingest>) {
            ingest(self, std::move(e));
          } else if constexpr (std::is_same_v<T, sm::Record>) {
            record(self, e);
          } else if constexpr (std::is_same_v<T, sm::Fatal>) {
            fatal(self, e);
          } else if constexpr (std::is_same_v<T, sm::Log>) {
            write_log(self, e);
          }
        },
        effect);
  }
  report(self);
}

std::optional<sm::Generation> generation_of(self_ptr self, uint64_t socket) {
  auto it = self->state.gen_of.find(socket);
  if (it == self->state.gen_of.end()) return std::nullopt;
  return it->second;
}

// Destroying a WebSocketClient aborts it without a close frame: quit only once every
// socket finished its close handshake, so Slack sees a normal close.
void quit_if_closed(self_ptr self, bool force) {
  auto& st = self->state;
  if (!st.shutdown || (!st.socket_of.empty() && !force)) return;
  st.shutdown->deliver(true);
  st.shutdown.reset();
  self->quit(caf::exit_reason::user_shutdown);
}

std::optional<std::string_view> find_header(const http::Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return std::string_view(v);
  return std::nullopt;
}

ws_bot_actor::behavior_type slack_socket_fn(self_ptr self, SlackSocketOptions options) {
  log_exceptions(self, "slack_socket");
  auto& st = self->state;
  st.options = std::move(options);
  st.bot_id = st.options.bot->id();
  sm::Config config;
  config.bot = {st.options.bot->name(), st.options.bot_user_id};
  config.reconnect_base = st.options.backoff_base;
  config.reconnect_cap = std::max(st.options.backoff_max, st.options.backoff_base);
  st.session =
      std::make_unique<sm::Session>(std::move(config), [rng = std::mt19937_64(std::random_device{}())]() mutable {
        return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      });
  http::WebSocketOptions ws;
  ws.ca_file = st.options.ca_file;
  ws.user_agent = kUserAgent;
  ws.connect_timeout = 15s;
  // Slack pings, but a NAT that silently drops the flow leaves a read pending forever:
  // ping after 15 s of silence and give up after 30 s (REFERENCE-websockets.md 2.8).
  ws.idle_timeout = 30s;
  ws.keep_alive_pings = true;
  st.sockets = std::make_unique<WsConnections>(self->address(), ws);
  caf::actor_addr me = self->address();
  st.http = std::make_unique<HttpWorker>([me](HttpAnswer a) {
    if (auto target = caf::actor_cast<caf::actor>(me))
      caf::anon_send(target, ws_boot_atom::value, a.tag, a.status, std::move(a.body), std::move(a.headers),
                     std::move(a.error_code), std::move(a.error_message));
  });
  log::info("slack.socket.starting", {{"bot", st.bot_id}, {"api", st.options.bot->base_url()}});
  run(self, st.session->start());
  return {
      [=](ws_open_atom, uint64_t socket) {
        if (auto gen = generation_of(self, socket)) run(self, self->state.session->on_ws_open(*gen));
      },
      [=](ws_text_atom, uint64_t socket, std::string& text) {
        if (auto gen = generation_of(self, socket)) run(self, self->state.session->on_text(*gen, text, now_ms()));
      },
      [=](ws_closed_atom, uint64_t socket, int32_t code, bool, std::string& why) {
        auto& s = self->state;
        s.sockets->forget(socket);
        auto gen = generation_of(self, socket);
        if (!gen) return;
        s.gen_of.erase(socket);
        s.socket_of.erase(*gen);
        log::debug("slack.socket.ws_closed",
                   {{"bot", s.bot_id}, {"gen", static_cast<int64_t>(*gen)}, {"code", int64_t{code}}, {"why", why}});
        run(self, s.session->on_closed(*gen, code >= 0 ? std::optional<int>(code) : std::nullopt));
        quit_if_closed(self, false);
      },
      [=](ws_timer_atom, uint8_t kind, uint64_t token) {
        auto& s = self->state;
        if (kind == kShutdownTimer) return quit_if_closed(self, true);
        auto it = s.timer_of.find(token);
        if (it == s.timer_of.end()) return;  // cancelled or replaced
        const TimerKey key = it->second;
        s.timer_of.erase(it);
        s.timer_token.erase(key);
        run(self, s.session->on_timer(key.first, key.second));
      },
      [=](ws_boot_atom, uint64_t gen, int32_t status, std::string& body, http::Headers& headers,
          std::string& error_code, std::string& error_message) {
        auto& s = self->state;
        if (!error_code.empty())
          return run(self, s.session->on_open_failed(gen, make_error(error_code, error_message)));
        run(self, s.session->on_open_answer(gen, status, find_header(headers, "Retry-After"), body));
      },
      [=](status_atom) {
        auto& s = self->state;
        return component_status{"slack_socket", overall_state(*s.session), s.bot_id + ": " + overall_detail(self)};
      },
      [=](shutdown_atom) -> caf::result<bool> {
        auto& s = self->state;
        if (s.shutdown) return true;  // already stopping; the first request is answered at the end
        // Closes every socket; envelopes still being committed are not acknowledged and
        // Slack redelivers them (to the next process, or after the restart).
        run(self, s.session->stop());
        s.http->stop();
        if (s.socket_of.empty()) {
          self->quit(caf::exit_reason::user_shutdown);
          return true;
        }
        s.shutdown = self->make_response_promise<bool>();
        self->delayed_send(self, kShutdownWait, ws_timer_atom::value, kShutdownTimer, uint64_t{0});
        return *s.shutdown;
      },
  };
}

}  // namespace

ws_bot_actor spawn_slack_socket(caf::actor_system& system, SlackSocketOptions options) {
  auto refuse = [&](const std::string& why) {
    log::error("slack.socket.not_started",
               {{"bot", options.bot ? options.bot->id() : std::string("(none)")}, {"error", why}});
    return ws_bot_actor{};
  };
  if (!options.bot || options.bot->kind() != messaging::ChannelKind::slack ||
      options.bot->mode() != config::BotMode::socket)
    return refuse("not a Slack Socket Mode bot");
  auto token = options.bot->connection_credential();
  if (!token) return refuse(token.error().message);
  if (token->empty()) return refuse("the app_token vault entry is empty");
  if (options.commit_timeout.count() <= 0) return refuse("commit_timeout must be positive");
  return system.spawn(slack_socket_fn, std::move(options));
}

}  // namespace sb::actors
