#include "channels/slack/socket_mode_session.hpp"

#include <algorithm>

#include "runtime/core/backoff.hpp"
#include "runtime/core/json.hpp"
#include "runtime/core/utf8.hpp"

namespace sb::channels::slack::socket_mode {
namespace {

constexpr std::size_t kMaxUrlBytes = 4096;
constexpr std::chrono::seconds kMaxRetryAfter{3600};

// States that hold a socket (or are about to): the ones Slack may count.
bool has_socket(ConnState s) {
  return s == ConnState::connecting || s == ConnState::awaiting_hello || s == ConnState::ready ||
         s == ConnState::draining || s == ConnState::closing;
}

// States in which envelopes are handled and acknowledgements can be written. A socket we
// asked to close is not one: after a close frame, WebSocket allows no more data frames.
bool usable(ConnState s) {
  return s == ConnState::ready || s == ConnState::draining;
}

std::uint8_t bit(TimerKind kind) {
  return static_cast<std::uint8_t>(1u << static_cast<unsigned>(kind));
}

// Peer-controlled text for a log line: valid UTF-8, short.
std::string label(std::string_view text) {
  return utf8::truncate(utf8::sanitize(text), 64);
}

std::string gen_field(Generation gen) {
  return "gen=" + std::to_string(gen);
}

Log line(log::Level level, std::string event, std::string detail) {
  return Log{level, std::move(event), std::move(detail)};
}

std::optional<FatalReason> fatal_open_error(std::string_view error) {
  if (error == "not_authed") return FatalReason::not_authed;
  if (error == "invalid_auth") return FatalReason::invalid_auth;
  if (error == "account_inactive") return FatalReason::account_inactive;
  if (error == "user_removed_from_team") return FatalReason::user_removed_from_team;
  if (error == "team_disabled") return FatalReason::team_disabled;
  return std::nullopt;
}

ReconnectReason reconnect_reason(DisconnectReason reason) {
  switch (reason) {
    case DisconnectReason::warning: return ReconnectReason::disconnect_warning;
    case DisconnectReason::refresh_requested: return ReconnectReason::disconnect_refresh_requested;
    case DisconnectReason::too_many_websockets: return ReconnectReason::disconnect_too_many_websockets;
    case DisconnectReason::link_disabled:  // fatal, never a reconnect
    case DisconnectReason::unknown: break;
  }
  return ReconnectReason::disconnect_unknown;
}

// Retry-After in delta-seconds (what Slack sends); an HTTP date or garbage is nullopt.
// At least 1 s (0 would make a tight loop), at most an hour.
std::optional<std::chrono::milliseconds> retry_after_delay(std::optional<std::string_view> header) {
  if (!header) return std::nullopt;
  std::string_view v = *header;
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty() || v.size() > 9) return std::nullopt;
  std::int64_t seconds = 0;
  for (char ch : v) {
    if (ch < '0' || ch > '9') return std::nullopt;
    seconds = seconds * 10 + (ch - '0');
  }
  return std::chrono::milliseconds(std::clamp<std::int64_t>(seconds, 1, kMaxRetryAfter.count()) * 1000);
}

bool usable_url(std::string_view url) {
  if (!url.starts_with("wss://") || url.size() <= 6 || url.size() > kMaxUrlBytes) return false;
  return std::none_of(url.begin(), url.end(), [](char ch) {
    auto u = static_cast<unsigned char>(ch);
    return u <= 0x20 || u >= 0x7f;
  });
}

std::string with_debug_reconnects(std::string url) {
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "debug_reconnects=true";
  return url;
}

// What an operator needs to recognise a slash command or an interaction in the log; not
// the command's text (it may be private) and never a token or response_url.
std::string summarize(EnvelopeType type, std::string_view payload_json) {
  rapidjson::Document doc;
  if (!json::parse(doc, payload_json).ok() || !doc.IsObject()) return {};
  auto str = [&](const json::Value& obj, const char* key) -> std::string {
    auto it = obj.FindMember(key);
    return it != obj.MemberEnd() && it->value.IsString() ? label(json::view(it->value)) : std::string();
  };
  if (type == EnvelopeType::slash_commands)
    return "command=" + str(doc, "command") + " channel=" + str(doc, "channel_id") + " user=" + str(doc, "user_id");
  std::string user;
  if (auto it = doc.FindMember("user"); it != doc.MemberEnd() && it->value.IsObject()) user = str(it->value, "id");
  return "type=" + str(doc, "type") + " user=" + user;
}

}  // namespace

std::string_view to_string(ConnState state) {
  switch (state) {
    case ConnState::waiting: return "waiting";
    case ConnState::opening: return "opening";
    case ConnState::connecting: return "connecting";
    case ConnState::awaiting_hello: return "awaiting_hello";
    case ConnState::ready: return "ready";
    case ConnState::draining: return "draining";
    case ConnState::closing: return "closing";
  }
  return "?";
}

std::string_view to_string(TimerKind kind) {
  switch (kind) {
    case TimerKind::hello_timeout: return "hello_timeout";
    case TimerKind::reconnect_delay: return "reconnect_delay";
    case TimerKind::drain_deadline: return "drain_deadline";
    case TimerKind::close_deadline: return "close_deadline";
    case TimerKind::stable: return "stable";
  }
  return "?";
}

std::string_view to_string(FatalReason reason) {
  switch (reason) {
    case FatalReason::link_disabled: return "link_disabled";
    case FatalReason::not_authed: return "not_authed";
    case FatalReason::invalid_auth: return "invalid_auth";
    case FatalReason::account_inactive: return "account_inactive";
    case FatalReason::user_removed_from_team: return "user_removed_from_team";
    case FatalReason::team_disabled: return "team_disabled";
  }
  return "?";
}

std::string_view to_string(ReconnectReason reason) {
  switch (reason) {
    case ReconnectReason::disconnect_warning: return "disconnect_warning";
    case ReconnectReason::disconnect_refresh_requested: return "disconnect_refresh_requested";
    case ReconnectReason::disconnect_too_many_websockets: return "disconnect_too_many_websockets";
    case ReconnectReason::disconnect_unknown: return "disconnect_unknown";
    case ReconnectReason::hello_timeout: return "hello_timeout";
    case ReconnectReason::connect_failed: return "connect_failed";
    case ReconnectReason::unexpected_close: return "unexpected_close";
  }
  return "?";
}

Session::Session(Config config, std::function<double()> jitter01)
    : config_(std::move(config)), jitter01_(std::move(jitter01)) {
  if (!jitter01_) jitter01_ = [] { return 1.0; };
}

// --- Inputs ----------------------------------------------------------------------------

Effects Session::start() {
  Effects out;
  if (fatal_ || stopped_) {
    out.push_back(line(log::Level::warn, "slack.socket.start_refused", fatal_ ? "fatal" : "stopped"));
    return out;
  }
  if (started_) return out;
  started_ = true;
  ensure_connection(out);
  return out;
}

Effects Session::stop() {
  Effects out;
  if (stopped_) return out;
  stopped_ = true;
  shut_down(out);
  out.push_back(line(log::Level::info, "slack.socket.stopped", "pending_acks=" + std::to_string(pending_.size())));
  return out;
}

Effects Session::on_open_answer(Generation gen, int http_status, std::optional<std::string_view> retry_after,
                                std::string_view body) {
  Effects out;
  Conn* c = find(gen);
  if (!c || c->state != ConnState::opening) {
    out.push_back(line(log::Level::debug, "slack.socket.stale_open_answer", gen_field(gen)));
    return out;
  }
  bool ok = false;
  std::string error_code;
  std::string url;
  rapidjson::Document doc;
  if (json::parse(doc, body).ok() && doc.IsObject()) {
    json::Errors errors;  // a field of the wrong type reads as absent: the answer is unusable
    json::Object root(&doc, "", errors);
    ok = root.opt_bool("ok", false);
    error_code = label(root.opt_str("error").value_or(""));
    url = std::string(root.opt_str("url").value_or(""));
  }

  if (http_status == 429 || error_code == "ratelimited") {
    // Tier 1: about one call a minute. Slack says how long to wait; that wait is not a
    // failure of ours, so the backoff does not grow.
    ++counters_.open_errors;
    auto delay = retry_after_delay(retry_after).value_or(config_.ratelimit_default);
    c->state = ConnState::waiting;
    start_timer(out, gen, *c, TimerKind::reconnect_delay, delay);
    out.push_back(line(log::Level::warn, "slack.socket.open_ratelimited",
                       gen_field(gen) + " retry_in_ms=" + std::to_string(delay.count())));
    return out;
  }
  if (!ok) {
    if (auto reason = fatal_open_error(error_code)) {
      ++counters_.open_errors;
      fatal(out, *reason, "apps.connections.open: " + error_code);
      return out;
    }
  }
  if (ok && http_status >= 200 && http_status < 300 && usable_url(url)) {
    c->state = ConnState::connecting;
    out.push_back(ConnectWs{gen, config_.debug_reconnects ? with_debug_reconnects(std::move(url)) : std::move(url)});
    out.push_back(line(log::Level::info, "slack.socket.connecting", gen_field(gen)));
    return out;
  }
  // internal_error, an HTTP error, an answer we cannot read: Slack may heal, so retry
  // with backoff (never logging the URL: it carries the connection ticket).
  ++counters_.open_errors;
  ++failures_;
  out.push_back(line(log::Level::warn, "slack.socket.open_failed",
                     gen_field(gen) + " http_status=" + std::to_string(http_status) + " error=" +
                         (error_code.empty() ? std::string(ok ? "bad_url" : "unreadable_answer") : error_code)));
  open_after_backoff(out, gen, *c);
  return out;
}

Effects Session::on_open_failed(Generation gen, const Error& error) {
  Effects out;
  Conn* c = find(gen);
  if (!c || c->state != ConnState::opening) {
    out.push_back(line(log::Level::debug, "slack.socket.stale_open_answer", gen_field(gen)));
    return out;
  }
  ++counters_.open_errors;
  ++failures_;
  out.push_back(line(log::Level::warn, "slack.socket.open_failed", gen_field(gen) + " error=" + error.code));
  open_after_backoff(out, gen, *c);
  return out;
}

Effects Session::on_ws_open(Generation gen) {
  Effects out;
  Conn* c = find(gen);
  if (!c) {
    // A socket nobody wants any more (we stopped or gave up on it while it connected).
    out.push_back(Close{gen});
    out.push_back(line(log::Level::debug, "slack.socket.unwanted_socket", gen_field(gen)));
    return out;
  }
  if (c->state != ConnState::connecting) {
    out.push_back(line(log::Level::debug, "slack.socket.stale_open",
                       gen_field(gen) + " state=" + std::string(to_string(c->state))));
    return out;
  }
  c->state = ConnState::awaiting_hello;
  start_timer(out, gen, *c, TimerKind::hello_timeout, config_.hello_timeout);
  return out;
}

Effects Session::on_text(Generation gen, std::string_view frame, std::int64_t now_unix_ms) {
  Effects out;
  Conn* c = find(gen);
  if (!c || !(c->state == ConnState::awaiting_hello || usable(c->state))) {
    // A frame racing our Close: it cannot be acknowledged any more, and Slack redelivers
    // an unacknowledged envelope on another connection.
    out.push_back(line(log::Level::debug, "slack.socket.frame_ignored",
                       gen_field(gen) + " state=" + std::string(c ? to_string(c->state) : "gone")));
    return out;
  }
  auto parsed = parse_frame(frame);
  if (!parsed) {
    ++counters_.malformed_frames;
    out.push_back(line(log::Level::warn, "slack.socket.malformed_frame",
                       gen_field(gen) + " code=" + parsed.error().code + " bytes=" + std::to_string(frame.size())));
    return out;
  }
  if (auto* hello = std::get_if<Hello>(&*parsed))
    on_hello(out, gen, *c, *hello);
  else if (auto* d = std::get_if<Disconnect>(&*parsed))
    on_disconnect(out, gen, *c, *d);
  else if (auto* e = std::get_if<Envelope>(&*parsed))
    on_envelope(out, gen, *c, std::move(*e), now_unix_ms);
  else
    out.push_back(line(log::Level::info, "slack.socket.unknown_frame",
                       gen_field(gen) + " type=" + std::get<Control>(*parsed).type_text));
  return out;
}

Effects Session::on_closed(Generation gen, std::optional<int> close_code) {
  Effects out;
  Conn* c = find(gen);
  std::string detail = gen_field(gen) + " code=" + (close_code ? std::to_string(*close_code) : std::string("none"));
  if (!c || !has_socket(c->state)) {
    out.push_back(line(log::Level::debug, "slack.socket.stale_close", detail));
    return out;
  }
  ConnState was = c->state;
  forget(out, gen);
  switch (was) {
    case ConnState::closing: out.push_back(line(log::Level::debug, "slack.socket.closed", detail)); break;
    case ConnState::draining:
      // Slack closing a socket it asked us to leave: expected, not a failure.
      out.push_back(line(log::Level::info, "slack.socket.closed", detail + " after=disconnect"));
      break;
    case ConnState::connecting:
      ++failures_;
      lost_reason_ = ReconnectReason::connect_failed;
      out.push_back(line(log::Level::warn, "slack.socket.connect_failed", detail));
      break;
    default:
      ++failures_;
      lost_reason_ = ReconnectReason::unexpected_close;
      out.push_back(
          line(log::Level::warn, "slack.socket.closed_unexpectedly", detail + " state=" + std::string(to_string(was))));
      break;
  }
  ensure_connection(out);
  return out;
}

Effects Session::on_timer(TimerKind kind, Generation gen) {
  Effects out;
  Conn* c = find(gen);
  if (!c || !(c->timers & bit(kind))) return out;  // cancelled, or its connection is gone
  c->timers = static_cast<std::uint8_t>(c->timers & ~bit(kind));
  switch (kind) {
    case TimerKind::hello_timeout:
      if (c->state != ConnState::awaiting_hello) break;
      out.push_back(line(log::Level::warn, "slack.socket.hello_timeout", gen_field(gen)));
      close(out, gen, *c);
      ++failures_;
      lost_reason_ = ReconnectReason::hello_timeout;
      ensure_connection(out);
      break;
    case TimerKind::reconnect_delay:
      if (c->state != ConnState::waiting || !running()) break;
      c->state = ConnState::opening;
      ++counters_.opens;
      out.push_back(OpenConnection{gen});
      break;
    case TimerKind::drain_deadline:
      if (c->state != ConnState::draining) break;
      // The replacement is late or the old socket's acks are: closing drops those acks
      // (Slack redelivers), but a socket Slack wants gone must not live on.
      out.push_back(line(log::Level::warn, "slack.socket.drain_deadline",
                         gen_field(gen) + " pending_acks=" + std::to_string(pending_for(gen))));
      close(out, gen, *c);
      ensure_connection(out);
      break;
    case TimerKind::close_deadline:
      if (c->state != ConnState::closing) break;
      out.push_back(line(log::Level::warn, "slack.socket.close_not_confirmed", gen_field(gen)));
      forget(out, gen);
      ensure_connection(out);
      break;
    case TimerKind::stable:
      if (!usable(c->state)) break;
      c->stable = true;
      failures_ = 0;
      break;
  }
  return out;
}

Effects Session::on_committed(Generation gen, std::string_view envelope_id) {
  return on_commit_answer(gen, envelope_id, true);
}

Effects Session::on_commit_failed(Generation gen, std::string_view envelope_id) {
  return on_commit_answer(gen, envelope_id, false);
}

// --- Read-only state -------------------------------------------------------------------

std::vector<ConnectionView> Session::connections() const {
  std::vector<ConnectionView> views;
  for (const auto& [gen, c] : conns_) views.push_back({gen, c.state, pending_for(gen), c.superseded});
  return views;
}

std::optional<ConnState> Session::state_of(Generation gen) const {
  auto it = conns_.find(gen);
  if (it == conns_.end()) return std::nullopt;
  return it->second.state;
}

// --- Frames ----------------------------------------------------------------------------

void Session::on_hello(Effects& out, Generation gen, Conn& c, const Hello& hello) {
  if (hello.num_connections) last_num_connections_ = hello.num_connections;
  std::string num = hello.num_connections ? std::to_string(*hello.num_connections) : std::string("unknown");
  if (c.state != ConnState::awaiting_hello) {
    out.push_back(line(log::Level::debug, "slack.socket.hello_again", gen_field(gen) + " num_connections=" + num));
    return;
  }
  c.state = ConnState::ready;
  cancel_timer(out, gen, c, TimerKind::hello_timeout);
  start_timer(out, gen, c, TimerKind::stable, config_.stable_after);
  out.push_back(line(log::Level::info, "slack.socket.hello",
                     gen_field(gen) + " num_connections=" + num + " approximate_connection_time_s=" +
                         (hello.approximate_connection_time_s ? std::to_string(*hello.approximate_connection_time_s)
                                                              : std::string("unknown"))));
  std::size_t ours = sockets();
  if (hello.num_connections && *hello.num_connections > static_cast<std::int64_t>(ours)) {
    // Slack load-balances envelopes over every connection of the app: another process
    // on the same app token (a forgotten dev instance) silently takes a share of them.
    out.push_back(line(log::Level::warn, "slack.socket.foreign_connections",
                       gen_field(gen) + " num_connections=" + num + " ours=" + std::to_string(ours)));
  }
  // Make-before-break: the replacement is usable, so the sockets it replaces can go once
  // their outstanding acknowledgements are written.
  for (auto& [other_gen, other] : conns_) {
    if (other_gen == gen || other.state != ConnState::draining || other.superseded) continue;
    other.superseded = true;
    ++counters_.refreshes;
    close_if_idle(out, other_gen, other);
  }
}

void Session::on_disconnect(Effects& out, Generation gen, Conn& c, const Disconnect& d) {
  out.push_back(line(log::Level::info, "slack.socket.disconnect",
                     gen_field(gen) + " reason=" + d.reason_text + " state=" + std::string(to_string(c.state))));
  if (d.reason == DisconnectReason::link_disabled) {
    fatal(out, FatalReason::link_disabled, "Socket Mode was disabled for the app (disconnect: link_disabled)");
    return;
  }
  ReconnectReason why = reconnect_reason(d.reason);
  if (c.state == ConnState::awaiting_hello) {
    // Before hello the socket has carried nothing: drop it and start over (the threads
    // in REFERENCE-websockets.md §4 crashed exactly here).
    close(out, gen, c);
    ++failures_;
    lost_reason_ = why;
    ensure_connection(out);
    return;
  }
  if (c.state != ConnState::ready) return;  // draining already: one replacement is enough
  // A refresh of a long-lived socket is routine and replaced at once; a socket told to go
  // soon after its hello (or for too many sockets) counts as a failure, so the replacements
  // back off instead of storming apps.connections.open.
  if (!c.stable || d.reason == DisconnectReason::too_many_websockets) ++failures_;
  c.state = ConnState::draining;
  cancel_timer(out, gen, c, TimerKind::stable);
  start_timer(out, gen, c, TimerKind::drain_deadline, config_.replacement_wait);
  lost_reason_ = why;
  ensure_connection(out);
}

void Session::on_envelope(Effects& out, Generation gen, Conn& c, Envelope e, std::int64_t now_unix_ms) {
  if (c.state == ConnState::awaiting_hello) {
    // Not usable before hello; unacknowledged, Slack redelivers it.
    out.push_back(
        line(log::Level::warn, "slack.socket.envelope_before_hello", gen_field(gen) + " envelope_id=" + e.envelope_id));
    return;
  }
  ++counters_.envelopes;
  std::string where = gen_field(gen) + " envelope_id=" + e.envelope_id;
  switch (e.type) {
    case EnvelopeType::events_api:
    case EnvelopeType::slash_commands: {
      if (e.type == EnvelopeType::slash_commands)
        out.push_back(Record{gen, e.envelope_id, e.type, summarize(e.type, e.payload_json)});
      auto parsed = e.type == EnvelopeType::events_api
                        ? parse_event(config_.bot, e.payload_json)
                        : parse_slash_command_json(config_.bot, e.payload_json, now_unix_ms);
      if (!parsed) {
        // Acknowledged and dropped: the parser is deterministic, so Slack's three retries
        // would fail the same way and only delay the envelopes behind them. The log keeps
        // the envelope id for the operator.
        ++counters_.malformed_payloads;
        out.push_back(line(log::Level::error, "slack.socket.malformed_payload",
                           where + " type=" + e.type_text + " code=" + parsed.error().code + " message=\"" +
                               label(parsed.error().message) + "\""));
        ack_now(out, gen, e.envelope_id);
        return;
      }
      deliver(out, gen, e, std::move(parsed).value());
      return;
    }
    case EnvelopeType::interactive: {
      // Buttons and modals are not messages; acknowledged so Slack does not show the
      // user an error, and recorded with the reason.
      std::string summary = summarize(e.type, e.payload_json);
      out.push_back(Record{gen, e.envelope_id, e.type, "ignored=interactive " + summary});
      ack_now(out, gen, e.envelope_id);
      return;
    }
    case EnvelopeType::unknown:
      ++counters_.unknown_envelopes;
      out.push_back(line(log::Level::warn, "slack.socket.unknown_envelope", where + " type=" + e.type_text));
      ack_now(out, gen, e.envelope_id);
      return;
  }
}

void Session::deliver(Effects& out, Generation gen, const Envelope& e, messaging::ParsedDelivery delivery) {
  for (const auto& item : delivery.ignored)
    out.push_back(line(log::Level::debug, "slack.socket.ignored",
                       gen_field(gen) + " envelope_id=" + e.envelope_id + " reason=" + item.reason));
  if (delivery.messages.empty()) {
    ack_now(out, gen, e.envelope_id);  // nothing to commit
    return;
  }
  if (pending_.emplace(gen, e.envelope_id).second) {
    ++pending_count_[gen];
  } else {
    // Redelivered on the same socket while the first copy is still being stored: the
    // first copy's acknowledgement answers both.
    out.push_back(
        line(log::Level::debug, "slack.socket.already_pending", gen_field(gen) + " envelope_id=" + e.envelope_id));
    return;
  }
  if (e.retry_attempt > 0)
    out.push_back(line(log::Level::info, "slack.socket.redelivery",
                       gen_field(gen) + " envelope_id=" + e.envelope_id +
                           " retry_attempt=" + std::to_string(e.retry_attempt) + " retry_reason=" + e.retry_reason));
  out.push_back(Ingest{gen, e.envelope_id, std::move(delivery)});
}

Effects Session::on_commit_answer(Generation gen, std::string_view envelope_id, bool committed) {
  Effects out;
  std::string where = gen_field(gen) + " envelope_id=" + label(envelope_id);
  auto it = pending_.find({gen, std::string(envelope_id)});
  if (it == pending_.end()) {
    out.push_back(line(log::Level::debug, "slack.socket.unknown_commit", where));
    return out;
  }
  pending_.erase(it);
  if (auto n = pending_count_.find(gen); n != pending_count_.end() && --n->second == 0) pending_count_.erase(n);
  Conn* c = find(gen);
  if (!committed) {
    ++counters_.commit_failures;
    out.push_back(line(log::Level::warn, "slack.socket.commit_failed", where + " acked=false"));
  } else if (c && usable(c->state)) {
    ack_now(out, gen, std::string(envelope_id));
  } else {
    // The delivering socket is gone. Slack's docs do not say an envelope may be
    // acknowledged on another connection, so the ack is dropped: Slack redelivers the
    // envelope and the event_id dedupe downstream absorbs the copy.
    ++counters_.acks_lost;
    out.push_back(line(log::Level::info, "slack.socket.ack_lost", where));
  }
  if (c) close_if_idle(out, gen, *c);
  return out;
}

// --- Helpers ---------------------------------------------------------------------------

Session::Conn* Session::find(Generation gen) {
  auto it = conns_.find(gen);
  return it == conns_.end() ? nullptr : &it->second;
}

std::size_t Session::pending_for(Generation gen) const {
  auto it = pending_count_.find(gen);
  return it == pending_count_.end() ? 0 : it->second;
}

std::size_t Session::sockets() const {
  return static_cast<std::size_t>(
      std::count_if(conns_.begin(), conns_.end(), [](const auto& kv) { return has_socket(kv.second.state); }));
}

void Session::start_timer(Effects& out, Generation gen, Conn& c, TimerKind kind, std::chrono::milliseconds delay) {
  c.timers = static_cast<std::uint8_t>(c.timers | bit(kind));
  out.push_back(StartTimer{kind, gen, delay});
}

void Session::cancel_timer(Effects& out, Generation gen, Conn& c, TimerKind kind) {
  if (!(c.timers & bit(kind))) return;
  c.timers = static_cast<std::uint8_t>(c.timers & ~bit(kind));
  out.push_back(CancelTimer{kind, gen});
}

void Session::close(Effects& out, Generation gen, Conn& c) {
  for (auto kind : {TimerKind::hello_timeout, TimerKind::reconnect_delay, TimerKind::drain_deadline,
                    TimerKind::close_deadline, TimerKind::stable})
    cancel_timer(out, gen, c, kind);
  c.state = ConnState::closing;
  out.push_back(Close{gen});
  start_timer(out, gen, c, TimerKind::close_deadline, config_.close_wait);
}

void Session::forget(Effects& out, Generation gen) {
  Conn* c = find(gen);
  if (!c) return;
  for (auto kind : {TimerKind::hello_timeout, TimerKind::reconnect_delay, TimerKind::drain_deadline,
                    TimerKind::close_deadline, TimerKind::stable})
    cancel_timer(out, gen, *c, kind);
  // Its pending envelopes stay in pending_: storage still answers them, and then their
  // acknowledgements count as lost.
  conns_.erase(gen);
}

void Session::shut_down(Effects& out) {
  std::vector<Generation> gens;
  for (const auto& [gen, c] : conns_) gens.push_back(gen);
  for (Generation gen : gens) {
    Conn& c = conns_.at(gen);
    if (c.state == ConnState::closing) continue;
    if (has_socket(c.state))
      close(out, gen, c);
    else
      forget(out, gen);  // waiting or opening: a late answer is then stale
  }
}

// Keeps one connection in use or on its way: when none is ready or being set up, starts
// one, unless two of ours exist already (a superseded socket and its replacement); the
// next on_closed or deadline calls this again.
void Session::ensure_connection(Effects& out) {
  if (!running()) return;
  bool covered = std::any_of(conns_.begin(), conns_.end(), [](const auto& kv) {
    return kv.second.state != ConnState::draining && kv.second.state != ConnState::closing;
  });
  if (covered) return;
  if (conns_.size() >= 2) {
    out.push_back(line(log::Level::debug, "slack.socket.at_socket_cap", "sockets=" + std::to_string(conns_.size())));
    return;
  }
  Generation gen = next_gen_++;
  Conn& c = conns_[gen];
  if (lost_reason_) {
    ++counters_.reconnects[static_cast<std::size_t>(*lost_reason_)];
    out.push_back(line(log::Level::info, "slack.socket.reconnect",
                       gen_field(gen) + " reason=" + std::string(to_string(*lost_reason_)) +
                           " failures=" + std::to_string(failures_)));
    lost_reason_.reset();
  }
  if (failures_ == 0) {
    c.state = ConnState::opening;
    ++counters_.opens;
    out.push_back(OpenConnection{gen});
  } else {
    open_after_backoff(out, gen, c);
  }
}

void Session::open_after_backoff(Effects& out, Generation gen, Conn& c) {
  double jitter = jitter01_();
  if (!(jitter >= 0.0 && jitter <= 1.0)) jitter = 1.0;  // NaN or out of range: no jitter, never UB
  auto delay = equal_jitter(
      backoff_delay(config_.reconnect_base, std::max<std::uint32_t>(failures_, 1), config_.reconnect_cap), jitter);
  c.state = ConnState::waiting;
  start_timer(out, gen, c, TimerKind::reconnect_delay, delay);
}

void Session::fatal(Effects& out, FatalReason reason, std::string detail) {
  if (fatal_) return;
  fatal_ = reason;
  out.push_back(line(log::Level::error, "slack.socket.fatal",
                     "reason=" + std::string(to_string(reason)) + " detail=\"" + detail + "\""));
  out.push_back(Fatal{reason, std::move(detail)});
  shut_down(out);
}

void Session::close_if_idle(Effects& out, Generation gen, Conn& c) {
  if (c.state != ConnState::draining || !c.superseded || pending_for(gen) > 0) return;
  out.push_back(line(log::Level::info, "slack.socket.superseded", gen_field(gen)));
  close(out, gen, c);
}

void Session::ack_now(Effects& out, Generation gen, const std::string& envelope_id) {
  ++counters_.envelopes_acked;
  out.push_back(Send{gen, ack_frame(envelope_id)});
}

}  // namespace sb::channels::slack::socket_mode
