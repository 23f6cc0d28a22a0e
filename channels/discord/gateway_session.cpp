#include "channels/discord/gateway_session.hpp"

#include <algorithm>
#include <memory>
#include <random>

#include "runtime/core/backoff.hpp"
#include "runtime/core/json.hpp"
#include "runtime/messaging/validate.hpp"

namespace sb::channels::discord {
namespace {

constexpr std::size_t kMaxSessionId = 128;
constexpr std::size_t kMaxUrl = 512;
constexpr std::size_t kMaxProperty = 128;
// Bounds on op 10's heartbeat_interval (Discord sends ~41 s): below the minimum a broken
// or hostile peer would make the bot beat into the 120-events-per-minute limit.
constexpr milliseconds kMinHeartbeat{100}, kMaxHeartbeat{3600000};
// /gateway/bot's numbers are trusted at least this long even when reset_after is 0
// (a single-shard bot often gets 0; discord.js uses the same floor).
constexpr milliseconds kMinBudgetValidity{5000};

bool valid_gateway_url(std::string_view url) {
  return url.size() <= kMaxUrl && url.size() > 6 && url.substr(0, 6) == "wss://" && messaging::plain_id(url);
}

bool valid_property(std::string_view s) {
  return !s.empty() && s.size() <= kMaxProperty &&
         std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; });
}

std::string ms_text(milliseconds d) {
  return std::to_string(d.count());
}

}  // namespace

std::string_view state_name(GatewayState state) {
  switch (state) {
    case GatewayState::idle: return "idle";
    case GatewayState::fetching: return "fetching";
    case GatewayState::connecting: return "connecting";
    case GatewayState::awaiting_hello: return "awaiting_hello";
    case GatewayState::identifying: return "identifying";
    case GatewayState::resuming: return "resuming";
    case GatewayState::ready: return "ready";
    case GatewayState::backing_off: return "backing_off";
    case GatewayState::stopped_fatal: return "stopped_fatal";
    case GatewayState::stopped: return "stopped";
  }
  return "unknown";
}

std::string_view timer_name(TimerKind kind) {
  switch (kind) {
    case TimerKind::heartbeat: return "heartbeat";
    case TimerKind::hello_timeout: return "hello_timeout";
    case TimerKind::ready_timeout: return "ready_timeout";
    case TimerKind::reconnect: return "reconnect";
    case TimerKind::identify_wait: return "identify_wait";
  }
  return "unknown";
}

std::string_view reason_name(ReconnectReason reason) {
  switch (reason) {
    case ReconnectReason::closed: return "closed";
    case ReconnectReason::connect_failed: return "connect_failed";
    case ReconnectReason::zombie: return "zombie";
    case ReconnectReason::server_reconnect: return "server_reconnect";
    case ReconnectReason::invalid_session: return "invalid_session";
    case ReconnectReason::hello_timeout: return "hello_timeout";
    case ReconnectReason::ready_timeout: return "ready_timeout";
    case ReconnectReason::gateway_bot_failed: return "gateway_bot_failed";
    case ReconnectReason::bad_ready: return "bad_ready";
  }
  return "unknown";
}

std::string gateway_connect_url(std::string_view base) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base) + "/?v=10&encoding=json";
}

Status validate_config(const GatewayConfig& c) {
  // The messages never quote the token.
  if (c.token.empty()) return make_error("channel.bad_value", "bot_token: the secret is empty");
  if (!messaging::token_chars(c.token.reveal(), "._-", 256))
    return make_error("channel.bad_value", "bot_token: not a Discord bot token (characters or length)");
  if (c.intents < 0 || (c.intents & ~known_intents_mask()) != 0)
    return make_error("channel.bad_value", "intents: " + std::to_string(c.intents) + " sets undefined bits");
  for (const std::string* p : {&c.properties.os, &c.properties.browser, &c.properties.device})
    if (!valid_property(*p))
      return make_error("channel.bad_value", "identify properties must be 1-128 printable bytes");
  for (milliseconds d : {c.hello_timeout, c.ready_timeout, c.backoff_base, c.backoff_cap, c.identify_spacing})
    if (d.count() <= 0) return make_error("channel.bad_value", "gateway timeouts and delays must be positive");
  if (c.invalid_session_wait_min.count() < 0 || c.invalid_session_wait_max < c.invalid_session_wait_min)
    return make_error("channel.bad_value", "invalid_session_wait: need 0 <= min <= max");
  if (c.refetch_after_connect_failures < 1 || c.max_resume_failures < 1)
    return make_error("channel.bad_value", "gateway failure thresholds must be at least 1");
  return {};
}

GatewaySession::GatewaySession(GatewayConfig config) : config_(std::move(config)) {
  identity_.name = config_.bot_name;
  random_ = config_.random01;
  if (!random_) {
    auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
    random_ = [gen] { return std::uniform_real_distribution<double>(0.0, 1.0)(*gen); };
  }
  if (config_.persisted && !config_.persisted->session_id.empty() && valid_gateway_url(config_.persisted->resume_url)) {
    const GatewayPersisted& p = *config_.persisted;
    session_id_ = p.session_id;
    resume_url_ = p.resume_url;
    committed_ = highest_seen_ = std::max<std::int64_t>(0, p.committed_seq);
    received_ = committed_;
    identity_.user_id = p.user_id;
    identity_.username = p.username;
    generation_ = 1;
  }
}

// ---- inputs ---------------------------------------------------------------------------

GatewayEffects GatewaySession::start(GatewayTime now) {
  GatewayEffects out;
  if (state_ != GatewayState::idle) return out;
  if (config_.persisted && !config_.persisted->session_id.empty() && !has_session())
    log(log::Level::warn, "discord.gateway_persisted_unusable", {{"reason", "resume_url is not a wss:// URL"}}, out);
  proceed(now, out);
  return out;
}

GatewayEffects GatewaySession::on_gateway_bot(GatewayTime now, int status, std::string_view body) {
  GatewayEffects out;
  if (state_ != GatewayState::fetching) return out;
  if (status == 401) {
    fatal(std::nullopt, "discord.auth_failed",
          "GET /gateway/bot answered 401: the bot token is invalid or was reset; store the new token and restart "
          "the bot",
          out);
    return out;
  }
  if (status != 200) {
    log(log::Level::warn, "discord.gateway_bot_failed", {{"status", std::to_string(status)}}, out);
    reconnect(now, ReconnectReason::gateway_bot_failed, Leave::already_closed, out);
    return out;
  }
  rapidjson::Document doc;
  json::Errors errors;
  std::string_view url;
  std::optional<std::int64_t> remaining, total, reset_after, max_concurrency;
  if (auto st = json::parse(doc, body); !st) {
    errors.fail(st.error().code, st.error().message);
  } else {
    json::Object root = json::Object::from(doc, "", errors);
    url = root.str("url");
    if (auto limit = root.opt_obj("session_start_limit")) {
      total = limit->i64("total");
      remaining = limit->i64("remaining");
      reset_after = limit->i64("reset_after");
      max_concurrency = limit->opt_i64("max_concurrency");
    }
    if (!errors.failed() && !valid_gateway_url(url)) errors.fail("channel.bad_value", "'url' is not a wss:// URL");
    if (!errors.failed() && (*remaining < 0 || *reset_after < 0))
      errors.fail("channel.bad_value", "session_start_limit has negative numbers");
  }
  if (errors.failed()) {
    log(log::Level::warn, "discord.gateway_bot_bad_answer",
        {{"code", errors.first->code}, {"message", errors.first->message}}, out);
    reconnect(now, ReconnectReason::gateway_bot_failed, Leave::already_closed, out);
    return out;
  }
  gateway_url_ = std::string(url);
  need_fetch_ = false;
  connect_failures_ = 0;
  if (remaining) {
    remaining_ = *remaining;
    budget_until_ = now + std::max(milliseconds(*reset_after), kMinBudgetValidity);
    log(log::Level::info, "discord.gateway_bot",
        {{"identifies_left", std::to_string(*remaining)},
         {"identifies_total", std::to_string(*total)},
         {"reset_after_ms", std::to_string(*reset_after)},
         {"max_concurrency", std::to_string(max_concurrency.value_or(1))}},
        out);
  } else {
    remaining_.reset();
  }
  proceed(now, out);
  return out;
}

GatewayEffects GatewaySession::on_gateway_bot_failed(GatewayTime now, const Error& error) {
  GatewayEffects out;
  if (state_ != GatewayState::fetching) return out;
  log(log::Level::warn, "discord.gateway_bot_failed", {{"code", error.code}, {"message", error.message}}, out);
  reconnect(now, ReconnectReason::gateway_bot_failed, Leave::already_closed, out);
  return out;
}

GatewayEffects GatewaySession::on_open(GatewayTime) {
  GatewayEffects out;
  if (socket_ != Socket::connecting) return out;
  socket_ = Socket::open;
  state_ = GatewayState::awaiting_hello;
  return out;
}

GatewayEffects GatewaySession::on_text(GatewayTime now, std::string_view text) {
  GatewayEffects out;
  if (socket_ != Socket::open) return out;
  auto frame = parse_frame(text);
  if (!frame) {
    log(log::Level::warn, "discord.gateway_bad_frame",
        {{"code", frame.error().code}, {"message", frame.error().message}}, out);
    return out;
  }
  const GatewayFrame& f = *frame;
  switch (static_cast<GatewayOp>(f.op)) {
    case GatewayOp::hello: {
      if (state_ != GatewayState::awaiting_hello) {
        log(log::Level::debug, "discord.gateway_extra_hello", {}, out);
        return out;
      }
      const rapidjson::Value* d = f.data();
      std::optional<std::int64_t> interval;
      if (d && d->IsObject()) {
        auto it = d->FindMember("heartbeat_interval");
        if (it != d->MemberEnd() && it->value.IsInt64()) interval = it->value.GetInt64();
      }
      if (!interval || *interval < kMinHeartbeat.count() || *interval > kMaxHeartbeat.count()) {
        log(log::Level::warn, "discord.gateway_bad_hello",
            {{"heartbeat_interval", interval ? std::to_string(*interval) : "missing"}}, out);
        reconnect(now, ReconnectReason::connect_failed, Leave::close, out);
        return out;
      }
      cancel_timer(TimerKind::hello_timeout, out);
      heartbeat_interval_ = milliseconds(*interval);
      // A new socket starts un-judged: the previous socket's missing ACK must not make
      // this one a zombie before its first beat.
      acked_ = true;
      heartbeat_sent_.reset();
      const double jitter = random01();
      start_timer(TimerKind::heartbeat,
                  milliseconds(static_cast<std::int64_t>(static_cast<double>(heartbeat_interval_.count()) * jitter)),
                  out);
      if (attempt_ == Attempt::resume && has_session()) {
        send(resume_payload(config_.token, session_id_, committed_), out);
        ++counters_.resumes;
        state_ = GatewayState::resuming;
        log(log::Level::info, "discord.gateway_resuming", {{"seq", std::to_string(committed_)}}, out);
      } else {
        send(identify_payload(config_.token, config_.intents, config_.properties), out);
        ++counters_.identifies;
        last_identify_ = now;
        if (remaining_ && *remaining_ > 0) --*remaining_;
        state_ = GatewayState::identifying;
        log(log::Level::info, "discord.gateway_identifying",
            {{"intents", std::to_string(config_.intents)},
             {"identifies_left", remaining_ ? std::to_string(*remaining_) : "unknown"}},
            out);
      }
      start_timer(TimerKind::ready_timeout, config_.ready_timeout, out);
      return out;
    }
    case GatewayOp::heartbeat:
      // A server request is answered at once and is not a zombie check (discord.js #3993).
      heartbeat(now, out);
      return out;
    case GatewayOp::heartbeat_ack:
      acked_ = true;
      ++counters_.acks;
      if (heartbeat_sent_) rtt_ = std::chrono::duration_cast<milliseconds>(now - *heartbeat_sent_);
      heartbeat_sent_.reset();
      return out;
    case GatewayOp::reconnect:
      log(log::Level::info, "discord.gateway_server_reconnect", {}, out);
      reconnect(now, ReconnectReason::server_reconnect, Leave::close, out);
      return out;
    case GatewayOp::invalid_session: {
      const rapidjson::Value* d = f.data();
      const bool resumable = d && d->IsBool() && d->GetBool();
      if (resumable && has_session()) {
        log(log::Level::info, "discord.gateway_invalid_session", {{"resumable", "true"}}, out);
        reconnect(now, ReconnectReason::invalid_session, Leave::close, out);
        return out;
      }
      log(log::Level::warn, "discord.gateway_invalid_session", {{"resumable", "false"}}, out);
      drop_session("invalid_session", out);
      const double span =
          static_cast<double>((config_.invalid_session_wait_max - config_.invalid_session_wait_min).count());
      const milliseconds wait =
          config_.invalid_session_wait_min + milliseconds(static_cast<std::int64_t>(span * random01()));
      reconnect(now, ReconnectReason::invalid_session, Leave::close, out, wait);
      return out;
    }
    case GatewayOp::dispatch: on_dispatch(now, f, out); return out;
    case GatewayOp::identify:
    case GatewayOp::resume: break;
  }
  log(log::Level::debug, "discord.gateway_unknown_op", {{"op", std::to_string(f.op)}}, out);
  return out;
}

GatewayEffects GatewaySession::on_closed(GatewayTime now, std::optional<std::uint16_t> code, bool clean) {
  GatewayEffects out;
  if (socket_ == Socket::none) return out;
  socket_ = Socket::none;
  const bool before_hello = state_ == GatewayState::connecting || state_ == GatewayState::awaiting_hello;
  log(log::Level::info, "discord.gateway_closed",
      {{"code", code ? std::to_string(*code) : "none"},
       {"clean", clean ? "true" : "false"},
       {"state", std::string(state_name(state_))}},
      out);
  if (code) {
    const std::string close = std::to_string(*code);
    switch (*code) {
      case 4004:
        fatal(code, "discord.auth_failed",
              "Discord closed the gateway with 4004 (authentication failed): the bot token is invalid or was reset; "
              "store the new token and restart the bot",
              out);
        return out;
      case 4010:
        fatal(code, "discord.invalid_shard", "Discord closed the gateway with 4010 (invalid shard)", out);
        return out;
      case 4011:
        fatal(code, "discord.sharding_required",
              "Discord closed the gateway with 4011 (sharding required): the bot is in too many guilds for one shard",
              out);
        return out;
      case 4012:
        fatal(code, "discord.invalid_api_version", "Discord closed the gateway with 4012 (invalid API version)", out);
        return out;
      case 4013:
        fatal(code, "discord.invalid_intents",
              "Discord closed the gateway with 4013 (invalid intents): check 'intents' (" +
                  std::to_string(config_.intents) + ")",
              out);
        return out;
      case 4014:
        fatal(code, "discord.disallowed_intents",
              "Discord closed the gateway with 4014 (disallowed intents): " + disallowed_intents_hint(config_.intents),
              out);
        return out;
      case 4003:  // not authenticated
      case 4005:  // already authenticated
      case 4007:  // invalid seq
      case 4009:  // session timed out
        drop_session("close_" + close, out);
        break;
      case 4001:  // unknown opcode: our bug
      case 4002:  // decode error: our bug
      case 4008:  // rate limited: the backoff below waits
        log(log::Level::warn, "discord.gateway_protocol_close", {{"code", close}}, out);
        break;
      default: break;
    }
  }
  // Everything else (no code, 1006, 4000-4002, 4008, a server's 1000/1001, codes Discord
  // may add) tries to resume: "if you get a disconnect, try to resume, otherwise
  // reconnect" (REFERENCE §1.7). An invalid session answers op 9 and we identify then.
  reconnect(now, before_hello ? ReconnectReason::connect_failed : ReconnectReason::closed, Leave::already_closed, out);
  return out;
}

GatewayEffects GatewaySession::on_timer(GatewayTime now, TimerKind kind, std::uint64_t token) {
  GatewayEffects out;
  auto& armed = timer_tokens_[static_cast<std::size_t>(kind)];
  if (token == 0 || armed != token) return out;  // cancelled or replaced meanwhile
  armed = 0;
  switch (kind) {
    case TimerKind::heartbeat:
      if (socket_ != Socket::open) return out;
      if (!acked_) {
        ++counters_.zombies;
        log(log::Level::warn, "discord.gateway_zombie", {{"heartbeat_interval_ms", ms_text(heartbeat_interval_)}}, out);
        reconnect(now, ReconnectReason::zombie, Leave::drop, out);
        return out;
      }
      heartbeat(now, out);
      start_timer(TimerKind::heartbeat, heartbeat_interval_, out);
      return out;
    case TimerKind::hello_timeout:
      log(log::Level::warn, "discord.gateway_hello_timeout", {{"after_ms", ms_text(config_.hello_timeout)}}, out);
      reconnect(now, ReconnectReason::hello_timeout, Leave::drop, out);
      return out;
    case TimerKind::ready_timeout:
      log(log::Level::warn, "discord.gateway_ready_timeout", {{"after_ms", ms_text(config_.ready_timeout)}}, out);
      reconnect(now, ReconnectReason::ready_timeout, Leave::close, out);
      return out;
    case TimerKind::reconnect: proceed(now, out); return out;
    case TimerKind::identify_wait: identify_gate(now, out); return out;
  }
  return out;
}

GatewayEffects GatewaySession::on_committed(GatewayTime, CommitTicket ticket) {
  GatewayEffects out;
  // A commit of an abandoned session's dispatch: its sequence numbers mean nothing now.
  if (ticket.generation != generation_ || !has_session()) return out;
  if (pending_.erase(ticket.seq) == 0) return out;
  advance_watermark(out);
  return out;
}

GatewayEffects GatewaySession::stop(GatewayTime) {
  GatewayEffects out;
  if (state_ == GatewayState::stopped || state_ == GatewayState::stopped_fatal) return out;
  leave_socket(Leave::close, out);
  cancel_timer(TimerKind::reconnect, out);
  cancel_timer(TimerKind::identify_wait, out);
  state_ = GatewayState::stopped;
  if (has_session()) persist(out);
  log(log::Level::info, "discord.gateway_stopped", {{"resumable", has_session() ? "true" : "false"}}, out);
  return out;
}

// ---- decisions ------------------------------------------------------------------------

void GatewaySession::proceed(GatewayTime now, GatewayEffects& out) {
  if (has_session())
    connect(Attempt::resume, out);
  else
    identify_gate(now, out);
}

void GatewaySession::identify_gate(GatewayTime now, GatewayEffects& out) {
  // Numbers past their reset time say nothing about the new window: ask again.
  if (need_fetch_ || gateway_url_.empty() || (remaining_ && now >= budget_until_)) {
    fetch(out);
    return;
  }
  if (remaining_ && *remaining_ <= 0) {
    // Exceeding the 1000 identifies a day resets the bot token (REFERENCE §1.10): wait.
    const auto wait = std::chrono::duration_cast<milliseconds>(budget_until_ - now);
    log(log::Level::warn, "discord.gateway_identify_budget_exhausted", {{"wait_ms", ms_text(wait)}}, out);
    need_fetch_ = true;  // fresh numbers after the wait
    state_ = GatewayState::backing_off;
    start_timer(TimerKind::identify_wait, wait, out);
    return;
  }
  if (last_identify_ && now < *last_identify_ + config_.identify_spacing) {
    const auto wait = std::chrono::duration_cast<milliseconds>(*last_identify_ + config_.identify_spacing - now);
    log(log::Level::debug, "discord.gateway_identify_spacing", {{"wait_ms", ms_text(wait)}}, out);
    state_ = GatewayState::backing_off;
    start_timer(TimerKind::identify_wait, wait, out);
    return;
  }
  connect(Attempt::identify, out);
}

void GatewaySession::connect(Attempt attempt, GatewayEffects& out) {
  attempt_ = attempt;
  socket_ = Socket::connecting;
  state_ = GatewayState::connecting;
  const std::string& base = attempt == Attempt::resume ? resume_url_ : gateway_url_;
  out.push_back(Connect{gateway_connect_url(base)});
  // Armed at Connect, not at open: it also bounds a TCP or TLS handshake that hangs.
  start_timer(TimerKind::hello_timeout, config_.hello_timeout, out);
}

void GatewaySession::fetch(GatewayEffects& out) {
  state_ = GatewayState::fetching;
  out.push_back(FetchGatewayBot{});
}

void GatewaySession::reconnect(GatewayTime now, ReconnectReason reason, Leave how, GatewayEffects& out,
                               milliseconds min_delay) {
  const GatewayState was = state_;
  const bool attempting = was == GatewayState::connecting || was == GatewayState::awaiting_hello ||
                          was == GatewayState::identifying || was == GatewayState::resuming;
  leave_socket(how, out);
  if (attempting && attempt_ == Attempt::resume && has_session()) {
    // Resume -> close -> resume can loop for minutes (REFERENCE §1.7): give the session up.
    if (++resume_failures_ >= config_.max_resume_failures)
      drop_session("resume_failed_" + std::to_string(resume_failures_) + "_times", out);
  } else if (attempting && attempt_ == Attempt::identify &&
             (was == GatewayState::connecting || was == GatewayState::awaiting_hello)) {
    if (++connect_failures_ >= config_.refetch_after_connect_failures) {
      need_fetch_ = true;
      connect_failures_ = 0;
    }
  }
  ++counters_.reconnects[static_cast<std::size_t>(reason)];
  if (ready_at_ && now - *ready_at_ >= config_.stable_after) backoff_attempt_ = 0;
  ready_at_.reset();
  ++backoff_attempt_;
  milliseconds delay =
      equal_jitter(backoff_delay(config_.backoff_base, backoff_attempt_, config_.backoff_cap), random01());
  delay = std::max(delay, min_delay);
  state_ = GatewayState::backing_off;
  start_timer(TimerKind::reconnect, delay, out);
  log(log::Level::info, "discord.gateway_reconnect",
      {{"reason", std::string(reason_name(reason))},
       {"delay_ms", ms_text(delay)},
       {"resume", has_session() ? "true" : "false"}},
      out);
}

void GatewaySession::leave_socket(Leave how, GatewayEffects& out) {
  cancel_connection_timers(out);
  if (socket_ == Socket::open && how == Leave::close)
    out.push_back(CloseSocket{kResumableCloseCode});
  else if (socket_ != Socket::none && how != Leave::already_closed)
    out.push_back(DropSocket{});
  socket_ = Socket::none;
  acked_ = true;
  heartbeat_sent_.reset();
}

void GatewaySession::fatal(std::optional<std::uint16_t> code, std::string error_code, std::string reason,
                           GatewayEffects& out) {
  leave_socket(Leave::drop, out);
  cancel_timer(TimerKind::reconnect, out);
  cancel_timer(TimerKind::identify_wait, out);
  drop_session(error_code, out);
  state_ = GatewayState::stopped_fatal;
  log(log::Level::error, "discord.gateway_fatal",
      {{"code", error_code}, {"close_code", code ? std::to_string(*code) : "none"}, {"reason", reason}}, out);
  out.push_back(Fatal{code, std::move(error_code), std::move(reason)});
}

void GatewaySession::drop_session(std::string_view why, GatewayEffects& out) {
  if (!has_session()) return;
  // A new session starts where Discord is now: whatever was sent between the last
  // received dispatch and the new READY is not replayed (REST backfill would be needed).
  log(log::Level::warn, "discord.gateway_gap_possible",
      {{"reason", std::string(why)},
       {"committed_seq", std::to_string(committed_)},
       {"received_seq", std::to_string(received_.value_or(0))}},
      out);
  session_id_.clear();
  resume_url_.clear();
  ++generation_;
  pending_.clear();
  highest_seen_ = committed_ = 0;
  received_.reset();
  resume_failures_ = 0;
  persist(out);
}

void GatewaySession::new_session(GatewayTime now, const GatewayFrame& frame, GatewayEffects& out) {
  const rapidjson::Value* d = frame.data();
  json::Errors errors;
  static const rapidjson::Value kAbsent;  // null: from() records the error
  json::Object ready = json::Object::from(d ? *d : kAbsent, "d", errors);
  std::string_view session_id = ready.str("session_id");
  auto resume_url = ready.opt_str("resume_gateway_url");
  json::Object user = ready.obj("user");
  std::string_view user_id = user.str("id");
  auto username = user.opt_str("username");
  if (!errors.failed() && (session_id.size() > kMaxSessionId || !messaging::plain_id(session_id)))
    errors.fail("channel.bad_value", "'d.session_id' is not a plain id");
  if (!errors.failed() && resume_url && !valid_gateway_url(*resume_url))
    errors.fail("channel.bad_value", "'d.resume_gateway_url' is not a wss:// URL");
  if (!errors.failed() && !messaging::snowflake(user_id))
    errors.fail("channel.bad_value", "'d.user.id' is not a snowflake");
  if (!errors.failed() && !resume_url && gateway_url_.empty())
    errors.fail("channel.missing_field", "field 'd.resume_gateway_url' is required");
  if (errors.failed()) {
    log(log::Level::error, "discord.gateway_bad_ready",
        {{"code", errors.first->code}, {"message", errors.first->message}}, out);
    reconnect(now, ReconnectReason::bad_ready, Leave::close, out);
    return;
  }
  ++generation_;
  session_id_ = std::string(session_id);
  // Before 2022 there was no resume_gateway_url: resume where we connected.
  resume_url_ = resume_url ? std::string(*resume_url) : gateway_url_;
  identity_.user_id = std::string(user_id);
  identity_.username = std::string(username.value_or(""));
  pending_.clear();
  // READY is the session's first dispatch: nothing before it exists, nothing in it needs storing.
  highest_seen_ = committed_ = frame.seq.value_or(0);
  received_ = frame.seq;
  resume_failures_ = 0;
  connect_failures_ = 0;
  empty_content_hinted_ = false;
  cancel_timer(TimerKind::ready_timeout, out);
  state_ = GatewayState::ready;
  ready_at_ = now;
  log(log::Level::info, "discord.gateway_ready",
      {{"user_id", identity_.user_id},
       {"username", identity_.username},
       {"identifies_left", remaining_ ? std::to_string(*remaining_) : "unknown"}},
      out);
  persist(out);
}

void GatewaySession::on_dispatch(GatewayTime now, const GatewayFrame& f, GatewayEffects& out) {
  ++counters_.dispatches;
  if (f.seq) received_ = std::max(received_.value_or(0), *f.seq);
  if (f.event == "READY") {
    new_session(now, f, out);
    return;
  }
  if (f.event == "RESUMED") {
    cancel_timer(TimerKind::ready_timeout, out);
    ++counters_.resumed;
    resume_failures_ = 0;
    state_ = GatewayState::ready;
    ready_at_ = now;
    log(log::Level::info, "discord.gateway_resumed", {{"seq", std::to_string(committed_)}}, out);
  } else if (state_ == GatewayState::resuming) {
    // A long replay is progress, not a hang.
    start_timer(TimerKind::ready_timeout, config_.ready_timeout, out);
  }
  if (!f.seq || !has_session()) return;
  const std::int64_t s = *f.seq;
  // At or below the watermark: durable already (a replay after resuming).
  if (s <= committed_) return;
  highest_seen_ = std::max(highest_seen_, s);
  if (f.event == "MESSAGE_CREATE") {
    const rapidjson::Value* d = f.data();
    auto parsed = d ? parse_message_create(identity_, *d)
                    : Result<messaging::ParsedDelivery>(make_error("channel.missing_field", "field 'd' is required"));
    if (!parsed) {
      // Unparseable now means unparseable on every replay: it must not hold the watermark.
      log(log::Level::warn, "discord.gateway_bad_message",
          {{"seq", std::to_string(s)}, {"code", parsed.error().code}, {"message", parsed.error().message}}, out);
    } else if (!parsed->messages.empty()) {
      pending_.insert(s);
      out.push_back(Ingest{CommitTicket{generation_, s}, std::move(*parsed)});
    } else {
      for (const auto& item : parsed->ignored) {
        if (item.reason == "empty_content" && !empty_content_hinted_) {
          empty_content_hinted_ = true;
          log(log::Level::warn, "discord.gateway_empty_content",
              {{"id", item.platform_id},
               {"hint",
                "Discord sent a message without text: enable the Message Content intent in the Developer Portal "
                "and in 'intents', or address the bot by mention or DM"}},
              out);
        } else {
          log(log::Level::debug, "discord.gateway_ignored", {{"id", item.platform_id}, {"reason", item.reason}}, out);
        }
      }
    }
  }
  advance_watermark(out);
}

void GatewaySession::heartbeat(GatewayTime now, GatewayEffects& out) {
  if (socket_ != Socket::open) return;
  send(heartbeat_payload(received_), out);
  ++counters_.heartbeats;
  acked_ = false;
  heartbeat_sent_ = now;
}

void GatewaySession::advance_watermark(GatewayEffects& out) {
  // Every dispatch up to highest_seen_ either needed nothing or sits in pending_ until
  // committed, so the watermark is just below the oldest pending one.
  const std::int64_t w = pending_.empty() ? highest_seen_ : *pending_.begin() - 1;
  if (w <= committed_) return;
  committed_ = w;
  persist(out);
}

void GatewaySession::persist(GatewayEffects& out) {
  out.push_back(Persist{GatewayPersisted{session_id_, resume_url_, committed_, identity_.user_id, identity_.username}});
}

void GatewaySession::start_timer(TimerKind kind, milliseconds delay, GatewayEffects& out) {
  const std::uint64_t token = next_token_++;
  timer_tokens_[static_cast<std::size_t>(kind)] = token;
  out.push_back(StartTimer{kind, std::max(delay, milliseconds{0}), token});
}

void GatewaySession::cancel_timer(TimerKind kind, GatewayEffects& out) {
  auto& armed = timer_tokens_[static_cast<std::size_t>(kind)];
  if (armed == 0) return;
  armed = 0;
  out.push_back(CancelTimer{kind});
}

void GatewaySession::cancel_connection_timers(GatewayEffects& out) {
  cancel_timer(TimerKind::heartbeat, out);
  cancel_timer(TimerKind::hello_timeout, out);
  cancel_timer(TimerKind::ready_timeout, out);
}

bool GatewaySession::send(std::string text, GatewayEffects& out) {
  if (text.size() > kMaxPayloadBytes) {
    // Discord would close with 4002. validate_config and the READY checks bound every
    // field, so this is a bug; the text is not logged (it may hold the token).
    log(log::Level::error, "discord.gateway_payload_too_large", {{"bytes", std::to_string(text.size())}}, out);
    return false;
  }
  out.push_back(Send{std::move(text)});
  return true;
}

double GatewaySession::random01() {
  const double r = random_();
  return r >= 0.0 && r < 1.0 ? r : 0.5;  // a broken source must not stretch or negate delays
}

void GatewaySession::log(log::Level level, std::string event, std::vector<LogField> fields, GatewayEffects& out) {
  fields.insert(fields.begin(), LogField{"bot", config_.bot_name});
  out.push_back(Log{level, std::move(event), std::move(fields)});
}

}  // namespace sb::channels::discord
