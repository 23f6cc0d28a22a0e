#include "actors/channels/discord_gateway.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include <caf/all.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/channels/http_worker.hpp"
#include "actors/channels/ws_connections.hpp"
#include "actors/supervision/supervisor.hpp"
#include "channels/discord/gateway_session.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/time.hpp"
#include "runtime/messaging/stored_message.hpp"
#include "storage/channel_state_store.hpp"
#include "storage/sqlite.hpp"

namespace sb::actors {
namespace {

namespace dc = channels::discord;
using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kIngestTimeout{30000};
constexpr std::chrono::milliseconds kStoreTimeout{15000};
constexpr std::chrono::milliseconds kIngestRetryMax{30000};
constexpr const char* kStateKey = "gateway_session";
// ws_timer kinds beyond the session's own: a stored ingest to try again.
constexpr uint8_t kIngestRetryTimer = 200;

struct PendingIngest {
  dc::CommitTicket ticket;
  std::vector<messaging::StoredMessage> messages;
  int attempts = 0;
};

struct gateway_state {
  DiscordGatewayOptions options;
  std::string bot_id;
  std::unique_ptr<dc::GatewaySession> session;
  std::unique_ptr<WsConnections> sockets;
  std::unique_ptr<HttpWorker> http;
  uint64_t current_socket = 0;                // 0 = none
  uint64_t boot_call = 0;                     // the /gateway/bot call in flight
  std::map<uint64_t, PendingIngest> ingests;  // by retry key
  uint64_t next_ingest = 1;
  std::optional<dc::GatewayPersisted> persist_pending;  // written after the one in flight
  bool persist_in_flight = false;
  std::string fatal_reason;
  std::string last_reason = "starting";
  // Reconnects already added to the by-reason counter (the session's counters restart
  // with the actor; the registry's do not).
  std::array<std::uint64_t, dc::kReconnectReasons> reconnects_counted{};
  static inline const char* name = "discord_gateway";
};

using self_ptr = ws_bot_actor::stateful_pointer<gateway_state>;

dc::GatewayTime now() {
  return dc::GatewayClock::now();
}

std::string persisted_json(const dc::GatewayPersisted& p) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("session_id");
  w.String(p.session_id.c_str());
  w.Key("resume_url");
  w.String(p.resume_url.c_str());
  w.Key("committed_seq");
  w.Int64(p.committed_seq);
  w.Key("user_id");
  w.String(p.user_id.c_str());
  w.Key("username");
  w.String(p.username.c_str());
  w.EndObject();
  return buf.GetString();
}

std::optional<dc::GatewayPersisted> load_persisted(const std::string& db_path, const std::string& bot) {
  if (db_path.empty()) return std::nullopt;
  storage::OpenOptions o;
  o.read_only = true;
  auto db = storage::Database::open(db_path, o);
  if (!db) return std::nullopt;
  auto stored = storage::read_channel_state(*db, "discord", bot, kStateKey);
  if (!stored || !*stored) return std::nullopt;
  rapidjson::Document d;
  d.Parse((*stored)->c_str());
  auto str = [&](const char* k) {
    return d.IsObject() && d.HasMember(k) && d[k].IsString() ? std::string(d[k].GetString()) : std::string();
  };
  if (d.HasParseError() || !d.IsObject()) {
    log::warn("discord.gateway_state_unreadable", {{"bot", "discord/" + bot}});
    return std::nullopt;
  }
  dc::GatewayPersisted p;
  p.session_id = str("session_id");
  p.resume_url = str("resume_url");
  p.user_id = str("user_id");
  p.username = str("username");
  if (d.HasMember("committed_seq") && d["committed_seq"].IsInt64()) p.committed_seq = d["committed_seq"].GetInt64();
  if (p.session_id.empty()) return std::nullopt;
  return p;
}

void count(self_ptr self, const std::string& name, const std::string& help, metrics::Labels labels = {}) {
  if (!self->state.options.metrics) return;
  labels.emplace_back("bot", self->state.bot_id);
  self->state.options.metrics->counter(name, help, labels).inc();
}

void report(self_ptr self) {
  auto& st = self->state;
  const auto& s = *st.session;
  if (st.options.metrics) {
    st.options.metrics
        ->gauge("squadbox_discord_gateway_ready", "1 while the Discord Gateway connection is ready.",
                {{"bot", st.bot_id}})
        .set(s.state() == dc::GatewayState::ready ? 1 : 0);
    if (auto rtt = s.last_heartbeat_rtt())
      st.options.metrics
          ->gauge("squadbox_discord_gateway_heartbeat_rtt_ms", "The last heartbeat's round trip.", {{"bot", st.bot_id}})
          .set(static_cast<double>(rtt->count()));
    const auto& reconnects = s.counters().reconnects;
    for (std::size_t i = 0; i < reconnects.size(); ++i) {
      if (reconnects[i] == st.reconnects_counted[i]) continue;
      st.options.metrics
          ->counter("squadbox_discord_gateway_reconnects_total",
                    "Gateway connections given up and replaced, by reason.",
                    {{"bot", st.bot_id}, {"reason", std::string(dc::reason_name(static_cast<dc::ReconnectReason>(i)))}})
          .inc(reconnects[i] - st.reconnects_counted[i]);
      st.reconnects_counted[i] = reconnects[i];
    }
    if (auto left = s.identifies_left())
      st.options.metrics
          ->gauge("squadbox_discord_gateway_identifies_left", "Identify calls left in Discord's 24 h budget.",
                  {{"bot", st.bot_id}})
          .set(static_cast<double>(*left));
  }
  if (!st.options.board) return;
  ConnectionReport r;
  r.state = std::string(dc::state_name(s.state()));
  r.fatal = s.state() == dc::GatewayState::stopped_fatal;
  const auto& c = s.counters();
  r.detail = r.fatal ? st.fatal_reason
                     : "seq " + std::to_string(s.committed_seq()) + " committed, " + std::to_string(c.identifies) +
                           " identifies, " + std::to_string(c.resumed) + " resumed, last: " + st.last_reason;
  r.since_ms = now_ms();
  st.options.board->set(st.bot_id, std::move(r));
}

void run(self_ptr self, dc::GatewayEffects effects);

void fetch_gateway_bot(self_ptr self) {
  auto& st = self->state;
  auto token = st.options.bot->connection_credential();
  HttpJob job;
  job.method = "GET";
  job.url = st.options.bot->base_url() + "/api/v10/gateway/bot";
  if (token) job.headers.emplace_back("Authorization", "Bot " + token->reveal());
  job.headers.emplace_back("User-Agent", "DiscordBot (https://squadbox.dev, 1)");
  job.client.timeout = 15s;
  job.client.ca_file = st.options.ca_file;
  st.boot_call++;
  st.http->submit(std::move(job));
}

void ingest(self_ptr self, uint64_t key) {
  auto& st = self->state;
  auto it = st.ingests.find(key);
  if (it == st.ingests.end()) return;
  auto ingester = lookup<ingest_actor>(self->system(), "ingest");
  auto retry = [self, key](std::string why) {
    auto& s = self->state;
    auto found = s.ingests.find(key);
    if (found == s.ingests.end()) return;
    const int n = ++found->second.attempts;
    const auto delay = std::min<std::chrono::milliseconds>(kIngestRetryMax, 500ms * (1 << std::min(n, 6)));
    log::warn("discord.ingest_failed", {{"bot", s.bot_id},
                                        {"seq", found->second.ticket.seq},
                                        {"error", why},
                                        {"attempt", n},
                                        {"retry_in_ms", static_cast<int64_t>(delay.count())}});
    count(self, "squadbox_discord_gateway_ingest_failures_total",
          "MESSAGE_CREATE events whose storing failed (tried again; the sequence number waits).");
    self->delayed_send(self, delay, ws_timer_atom::value, kIngestRetryTimer, key);
  };
  if (!ingester) return retry("ingest actor down");
  self->request(ingester, kIngestTimeout, ingest_atom::value, it->second.messages)
      .then(
          [self, key, retry](const ingest_result& r) {
            if (!r.error.code.empty()) return retry(r.error.code + ": " + r.error.message);
            auto& s = self->state;
            auto found = s.ingests.find(key);
            if (found == s.ingests.end()) return;
            const auto ticket = found->second.ticket;
            s.ingests.erase(found);
            if (r.duplicates > 0)
              count(self, "squadbox_discord_gateway_duplicates_total",
                    "MESSAGE_CREATE events already stored (a resume's replay).");
            run(self, s.session->on_committed(now(), ticket));
          },
          [retry, self](caf::error& err) { retry(self->system().render(err)); });
}

void persist(self_ptr self, dc::GatewayPersisted state) {
  auto& st = self->state;
  if (st.persist_in_flight) {
    st.persist_pending = std::move(state);
    return;
  }
  auto writer = lookup<storage_writer_actor>(self->system(), "storage");
  if (!writer) {
    log::warn("discord.gateway_state_not_saved", {{"bot", st.bot_id}, {"error", "storage writer down"}});
    return;
  }
  st.persist_in_flight = true;
  auto op =
      storage::upsert_channel_state("discord", st.options.bot->name(), kStateKey, persisted_json(state), now_ms());
  self->request(writer, kStoreTimeout, write_atom::value, std::move(op))
      .then(
          [self](const storage::WriteOutcome& out) {
            auto& s = self->state;
            s.persist_in_flight = false;
            if (!out.ok)
              log::warn("discord.gateway_state_not_saved", {{"bot", s.bot_id}, {"error", out.error_message}});
            if (s.persist_pending) {
              auto next = std::move(*s.persist_pending);
              s.persist_pending.reset();
              persist(self, std::move(next));
            }
          },
          [self](caf::error& err) {
            auto& s = self->state;
            s.persist_in_flight = false;
            log::warn("discord.gateway_state_not_saved", {{"bot", s.bot_id}, {"error", self->system().render(err)}});
          });
}

void fatal(self_ptr self, const dc::Fatal& f) {
  auto& st = self->state;
  st.fatal_reason = f.reason;
  st.sockets->clear();
  st.current_socket = 0;
  log::error("discord.gateway_stopped", {{"bot", st.bot_id},
                                         {"code", f.code},
                                         {"close_code", f.close_code ? int64_t{*f.close_code} : int64_t{-1}},
                                         {"reason", f.reason}});
  count(self, "squadbox_discord_gateway_fatal_total", "Gateway connections stopped for good (needs an operator).",
        {{"code", f.code}});
  if (st.options.audit) {
    std::string detail = "{\"code\":\"" + http::json_escape(f.code) +
                         "\",\"closeCode\":" + (f.close_code ? std::to_string(*f.close_code) : std::string("null")) +
                         ",\"reason\":\"" + http::json_escape(f.reason) + "\"}";
    st.options.audit(AuditRecord{"channel:" + st.bot_id, "channel.connection_stopped", st.bot_id, std::move(detail)});
  }
}

void run(self_ptr self, dc::GatewayEffects effects) {
  auto& st = self->state;
  for (auto& effect : effects) {
    std::visit(
        [&](auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, dc::FetchGatewayBot>) {
            fetch_gateway_bot(self);
          } else if constexpr (std::is_same_v<T, dc::Connect>) {
            if (st.current_socket) st.sockets->forget(st.current_socket);
            st.current_socket = st.sockets->connect(e.url);
            count(self, "squadbox_discord_gateway_connects_total", "Gateway WebSocket connections opened.");
          } else if constexpr (std::is_same_v<T, dc::Send>) {
            if (st.current_socket) st.sockets->send(st.current_socket, std::move(e.text));
          } else if constexpr (std::is_same_v<T, dc::CloseSocket>) {
            // The session forgot this socket: its late events are ignored, the client is
            // destroyed once it reports its close.
            if (st.current_socket) st.sockets->close(st.current_socket, e.code);
            st.current_socket = 0;
          } else if constexpr (std::is_same_v<T, dc::DropSocket>) {
            if (st.current_socket) st.sockets->drop(st.current_socket);
            st.current_socket = 0;
          } else if constexpr (std::is_same_v<T, dc::StartTimer>) {
            self->delayed_send(self, e.delay, ws_timer_atom::value, static_cast<uint8_t>(e.kind), e.token);
          } else if constexpr (std::is_same_v<T, dc::CancelTimer>) {
            // A cancelled timer's message arrives with a stale token: the session ignores it.
          } else if constexpr (std::is_same_v<T, dc::Ingest>) {
            const uint64_t key = st.next_ingest++;
            st.ingests[key] = PendingIngest{e.ticket, messaging::to_stored(std::move(e.delivery.messages)), 0};
            ingest(self, key);
          } else if constexpr (std::is_same_v<T, dc::Persist>) {
            persist(self, std::move(e.state));
          } else if constexpr (std::is_same_v<T, dc::Fatal>) {
            fatal(self, e);
          } else if constexpr (std::is_same_v<T, dc::Log>) {
            std::vector<log::Field> fields;
            fields.reserve(e.fields.size() + 1);
            fields.emplace_back("bot", st.bot_id);
            for (const auto& f : e.fields) fields.emplace_back(f.key, f.value);
            if (e.event.find("reconnect") != std::string::npos || e.event.find("zombie") != std::string::npos)
              st.last_reason = e.event;
            log::write(e.level, e.event, std::span<const log::Field>(fields.data(), fields.size()));
          }
        },
        effect);
  }
  report(self);
}

ws_bot_actor::behavior_type gateway_fn(self_ptr self, DiscordGatewayOptions options, dc::GatewayConfig config) {
  log_exceptions(self, "discord_gateway");
  auto& st = self->state;
  st.options = std::move(options);
  st.bot_id = st.options.bot->id();
  config.persisted = load_persisted(st.options.db_path, st.options.bot->name());
  if (config.persisted)
    log::info("discord.gateway_session_loaded",
              {{"bot", st.bot_id}, {"committed_seq", config.persisted->committed_seq}});
  st.session = std::make_unique<dc::GatewaySession>(std::move(config));
  http::WebSocketOptions ws;
  ws.ca_file = st.options.ca_file;
  ws.user_agent = "DiscordBot (https://squadbox.dev, 1)";
  // The heartbeat/ACK is the zombie check; this is the backstop when even a read stalls.
  ws.idle_timeout = 180s;
  ws.keep_alive_pings = true;
  st.sockets = std::make_unique<WsConnections>(self->address(), ws);
  caf::actor_addr me = self->address();
  st.http = std::make_unique<HttpWorker>([me](HttpAnswer a) {
    if (auto target = caf::actor_cast<caf::actor>(me))
      caf::anon_send(target, ws_boot_atom::value, uint64_t{0}, a.status, std::move(a.body), std::move(a.headers),
                     std::move(a.error_code), std::move(a.error_message));
  });
  log::info("discord.gateway_starting", {{"bot", st.bot_id}, {"api", st.options.bot->base_url()}});
  run(self, st.session->start(now()));
  return {
      [=](ws_open_atom, uint64_t conn) {
        if (conn != self->state.current_socket) return;
        run(self, self->state.session->on_open(now()));
      },
      [=](ws_text_atom, uint64_t conn, std::string& text) {
        if (conn != self->state.current_socket) return;
        run(self, self->state.session->on_text(now(), text));
      },
      [=](ws_closed_atom, uint64_t conn, int32_t code, bool clean, std::string& why) {
        auto& s = self->state;
        s.sockets->forget(conn);
        if (conn != s.current_socket) return;
        s.current_socket = 0;
        s.last_reason = "closed " + (code >= 0 ? std::to_string(code) + " " : std::string()) + why;
        log::info("discord.gateway_closed", {{"bot", s.bot_id}, {"code", int64_t{code}}, {"why", why}});
        run(self, s.session->on_closed(
                      now(), code >= 0 ? std::optional<uint16_t>(static_cast<uint16_t>(code)) : std::nullopt, clean));
      },
      [=](ws_timer_atom, uint8_t kind, uint64_t token) {
        if (kind == kIngestRetryTimer) return ingest(self, token);
        if (kind >= dc::kTimerKinds) return;
        run(self, self->state.session->on_timer(now(), static_cast<dc::TimerKind>(kind), token));
      },
      [=](ws_boot_atom, uint64_t, int32_t status, std::string& body, http::Headers&, std::string& error_code,
          std::string& error_message) {
        auto& s = self->state;
        if (!error_code.empty()) {
          count(self, "squadbox_discord_gateway_bootstrap_failures_total", "GET /gateway/bot calls that failed.");
          return run(self, s.session->on_gateway_bot_failed(now(), make_error(error_code, error_message)));
        }
        run(self, s.session->on_gateway_bot(now(), status, body));
      },
      [=](status_atom) {
        auto& s = self->state;
        return component_status{"discord_gateway", std::string(dc::state_name(s.session->state())),
                                s.bot_id + " seq " + std::to_string(s.session->committed_seq()) + ", " +
                                    (s.fatal_reason.empty() ? s.last_reason : s.fatal_reason)};
      },
      [=](shutdown_atom) {
        auto& s = self->state;
        // Closes with a resumable code and persists: a restart within Discord's resume
        // window resumes from the committed sequence number.
        run(self, s.session->stop(now()));
        s.http->stop();
        log::info("discord.gateway_stopped_for_shutdown",
                  {{"bot", s.bot_id}, {"committed_seq", s.session->committed_seq()}});
        self->quit(caf::exit_reason::user_shutdown);
        return true;
      },
  };
}

}  // namespace

ws_bot_actor spawn_discord_gateway(caf::actor_system& system, DiscordGatewayOptions options) {
  if (!options.bot || options.bot->mode() != config::BotMode::gateway) {
    log::error("discord.gateway_not_started",
               {{"bot", options.bot ? options.bot->id() : std::string("(none)")}, {"error", "not a gateway bot"}});
    return {};
  }
  dc::GatewayConfig config;
  config.bot_name = options.bot->name();
  auto token = options.bot->connection_credential();
  auto intents = dc::parse_intents(options.intents);
  if (!token || !intents) {
    log::error("discord.gateway_not_started",
               {{"bot", options.bot->id()}, {"error", !token ? token.error().message : intents.error().message}});
    return {};
  }
  config.token = *token;
  config.intents = *intents;
  config.backoff_base = options.backoff_base;
  config.backoff_cap = std::max(options.backoff_max, options.backoff_base);
  if (options.identify_spacing.count() > 0) config.identify_spacing = options.identify_spacing;
  if (auto ok = dc::validate_config(config); !ok) {
    log::error("discord.gateway_not_started", {{"bot", options.bot->id()}, {"error", ok.error().message}});
    return {};
  }
  return system.spawn(gateway_fn, std::move(options), std::move(config));
}

}  // namespace sb::actors
