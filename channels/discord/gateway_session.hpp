#pragma once
// The Discord Gateway bot-mode session as a pure state machine (REFERENCE-websockets §1,
// §8; docs/channels-discord-gateway.md): every input is a method taking `now`, every
// decision comes back as a list of effects for the actor shell to execute (open or close
// the WebSocket, send a frame, arm a timer, ingest and persist). No I/O, no threads, no
// clock or random source of its own, so tests drive whole handshakes deterministically.
//
// The shell's side of the contract:
//  * One socket at a time. Connect replaces any previous socket. After the session emits
//    CloseSocket or DropSocket it has forgotten that socket: the shell reports nothing
//    more from it (no on_closed), only from the socket of the latest Connect.
//  * Timers: StartTimer{kind} replaces the pending timer of that kind. The shell passes
//    the effect's token back with on_timer; a token that is no longer current (a timer
//    cancelled or replaced while its message was in flight) is ignored, so the shell need
//    not win races against its own mailbox.
//  * Ingest{ticket, delivery}: store the messages durably, then call on_committed(ticket).
//  * Persist: write the state (overwrite; an empty session_id means "no session"), read
//    it back into GatewayConfig::persisted at the next start. Coalescing is fine.
//  * Fatal: stop for good (no retries: a token or intents problem needs a human); alert.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "channels/discord/gateway_message.hpp"
#include "channels/discord/gateway_payload.hpp"
#include "channels/discord/intents.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"
#include "runtime/messaging/inbound.hpp"

namespace sb::channels::discord {

using GatewayClock = std::chrono::steady_clock;
using GatewayTime = GatewayClock::time_point;
using std::chrono::milliseconds;

// A session that was (or still is) alive, as the shell stores it between restarts. The
// bot user's id and name come with it because a resumed session gets no READY to learn
// them from, and the own-message filter needs the id.
struct GatewayPersisted {
  std::string session_id;  // "" = none: identify
  std::string resume_url;  // READY's resume_gateway_url, without the query
  std::int64_t committed_seq = 0;
  std::string user_id;
  std::string username;

  bool operator==(const GatewayPersisted&) const = default;
};

struct GatewayConfig {
  std::string bot_name;  // configured name: InboundMessage::bot, logs
  Secret token;          // goes into Identify and Resume payloads only, never into a Log
  std::int64_t intents = kDefaultIntents;
  IdentifyProperties properties;

  milliseconds hello_timeout{60000};  // Connect -> op 10 (also bounds a hung TCP/TLS handshake)
  milliseconds ready_timeout{15000};  // op 2 / op 6 sent -> READY / RESUMED
  milliseconds backoff_base{1000};    // reconnect delay: equal jitter over base * 2^(n-1) ...
  milliseconds backoff_cap{60000};    // ... capped here
  // A READY/RESUMED that stays up this long resets the backoff to base.
  milliseconds stable_after{30000};
  // One identify per this interval for the single shard (max_concurrency buckets are per
  // shard: a single shard always has one bucket, so max_concurrency does not shorten it).
  milliseconds identify_spacing{5000};
  // After op 9 d:false: wait a random time in [min, max] before identifying again.
  milliseconds invalid_session_wait_min{1000};
  milliseconds invalid_session_wait_max{5000};
  // This many failed connections in a row to the cached /gateway/bot URL refetch it.
  int refetch_after_connect_failures = 3;
  // This many failed resumes in a row (closed or timed out before RESUMED) fall back to
  // identify: Discord sometimes answers resumes with 1006 for minutes.
  int max_resume_failures = 2;

  // Uniform samples in [0, 1): heartbeat jitter, backoff jitter, the op 9 wait. Empty =
  // a generator seeded from std::random_device. Tests pass a fixed sequence.
  std::function<double()> random01;

  std::optional<GatewayPersisted> persisted;  // loaded by the shell at start
};

// Errors "channel.bad_value": an empty or odd token, intents with undefined bits,
// identify properties over 128 bytes or with control characters, a non-positive knob.
Status validate_config(const GatewayConfig& config);

enum class GatewayState : std::uint8_t {
  idle,            // constructed, start() not called
  fetching,        // GET /gateway/bot in flight
  connecting,      // Connect sent, waiting for on_open
  awaiting_hello,  // socket open, waiting for op 10
  identifying,     // op 2 sent, waiting for READY
  resuming,        // op 6 sent, waiting for RESUMED (replays arrive meanwhile)
  ready,           // READY or RESUMED received
  backing_off,     // waiting on the reconnect or identify_wait timer
  stopped_fatal,   // Fatal emitted; nothing more happens
  stopped,         // stop() called
};
std::string_view state_name(GatewayState state);

enum class TimerKind : std::uint8_t { heartbeat, hello_timeout, ready_timeout, reconnect, identify_wait };
inline constexpr std::size_t kTimerKinds = 5;
std::string_view timer_name(TimerKind kind);

// Why a connection was given up and another one scheduled (metrics label).
enum class ReconnectReason : std::uint8_t {
  closed,              // the socket closed (any non-fatal code, or none)
  connect_failed,      // closed before op 10 arrived
  zombie,              // no op 11 between two of our heartbeats
  server_reconnect,    // op 7
  invalid_session,     // op 9
  hello_timeout,       // no op 10 in time
  ready_timeout,       // no READY / RESUMED in time
  gateway_bot_failed,  // GET /gateway/bot failed (retry of the fetch)
  bad_ready,           // READY without a usable session_id / resume_gateway_url
};
inline constexpr std::size_t kReconnectReasons = 9;
std::string_view reason_name(ReconnectReason reason);

// What the shell executes, in order.
struct FetchGatewayBot {
  bool operator==(const FetchGatewayBot&) const = default;
};
struct Connect {
  std::string url;  // full URL incl. "/?v=10&encoding=json"
  bool operator==(const Connect&) const = default;
};
struct Send {
  std::string text;  // one JSON text frame, at most kMaxPayloadBytes
  bool operator==(const Send&) const = default;
};
// A close handshake with this code. Always a 4000-range code that Discord does not
// treat as the end of the session, never 1000/1001 (those invalidate it).
struct CloseSocket {
  std::uint16_t code = 0;
  bool operator==(const CloseSocket&) const = default;
};
// Drop the TCP connection without a close handshake (a zombie connection would not
// complete one). The session stays resumable.
struct DropSocket {
  bool operator==(const DropSocket&) const = default;
};
struct StartTimer {
  TimerKind kind = TimerKind::heartbeat;
  milliseconds delay{0};
  std::uint64_t token = 0;  // pass back to on_timer
  bool operator==(const StartTimer&) const = default;
};
struct CancelTimer {
  TimerKind kind = TimerKind::heartbeat;
  bool operator==(const CancelTimer&) const = default;
};
// Identifies one dispatch for on_committed. The generation changes with every new
// session (READY), so a late commit from an abandoned session cannot be mistaken for the
// same sequence number of the new one.
struct CommitTicket {
  std::uint64_t generation = 0;
  std::int64_t seq = 0;
  bool operator==(const CommitTicket&) const = default;
};
struct Ingest {
  CommitTicket ticket;
  messaging::ParsedDelivery delivery;  // one message (ignored items never need storing)
};
struct Persist {
  GatewayPersisted state;
  bool operator==(const Persist&) const = default;
};
struct Fatal {
  std::optional<std::uint16_t> close_code;  // nullopt: from /gateway/bot
  std::string code;                         // stable: discord.auth_failed, discord.disallowed_intents, ...
  std::string reason;                       // for the operator's alert
  bool operator==(const Fatal&) const = default;
};
struct LogField {
  std::string key;
  std::string value;
  bool operator==(const LogField&) const = default;
};
struct Log {
  log::Level level = log::Level::info;
  std::string event;  // "discord.gateway_ready", ...
  std::vector<LogField> fields;
};

using GatewayEffect = std::variant<FetchGatewayBot, Connect, Send, CloseSocket, DropSocket, StartTimer, CancelTimer,
                                   Ingest, Persist, Fatal, Log>;
using GatewayEffects = std::vector<GatewayEffect>;

// The close code of every close that should keep the session resumable (stop, op 7,
// op 9): in the 4000-4999 range RFC 6455 leaves to applications, and the one discord.js
// uses for the same purpose ("Resuming").
inline constexpr std::uint16_t kResumableCloseCode = 4200;

// The Connect URL for a gateway base URL ("wss://gateway.discord.gg/" or a
// resume_gateway_url): the base without trailing '/' plus "/?v=10&encoding=json".
std::string gateway_connect_url(std::string_view base);

struct GatewayCounters {
  std::uint64_t identifies = 0;  // op 2 sent
  std::uint64_t resumes = 0;     // op 6 sent
  std::uint64_t resumed = 0;     // RESUMED received
  std::uint64_t heartbeats = 0;  // op 1 sent
  std::uint64_t acks = 0;        // op 11 received
  std::uint64_t zombies = 0;
  std::uint64_t dispatches = 0;
  std::array<std::uint64_t, kReconnectReasons> reconnects{};  // by ReconnectReason
};

class GatewaySession {
 public:
  explicit GatewaySession(GatewayConfig config);

  // Resumes a persisted session (Connect to its resume URL) or fetches /gateway/bot.
  GatewayEffects start(GatewayTime now);
  // The answer of GET {api_base_url}/api/v10/gateway/bot: 200 with {url,
  // session_start_limit}; 401 is Fatal (bad token); anything else retries with backoff.
  GatewayEffects on_gateway_bot(GatewayTime now, int status, std::string_view body);
  // The request did not complete (DNS, TLS, timeout): retry with backoff.
  GatewayEffects on_gateway_bot_failed(GatewayTime now, const Error& error);
  GatewayEffects on_open(GatewayTime now);
  GatewayEffects on_text(GatewayTime now, std::string_view frame);
  // The socket of the latest Connect closed or failed to connect; `code` is the close
  // frame's code if there was one, `clean` whether the close handshake completed.
  GatewayEffects on_closed(GatewayTime now, std::optional<std::uint16_t> code, bool clean);
  GatewayEffects on_timer(GatewayTime now, TimerKind kind, std::uint64_t token);
  // The Ingest with this ticket is durable.
  GatewayEffects on_committed(GatewayTime now, CommitTicket ticket);
  // Shutdown: close with kResumableCloseCode (1000/1001 would end the session, and a
  // restart within Discord's resume window should resume), cancel timers, persist.
  GatewayEffects stop(GatewayTime now);

  GatewayState state() const { return state_; }
  const GatewayCounters& counters() const { return counters_; }
  // Send of the last heartbeat to its op 11.
  std::optional<milliseconds> last_heartbeat_rtt() const { return rtt_; }
  // From the last /gateway/bot answer, minus the identifies sent since; nullopt = unknown.
  std::optional<std::int64_t> identifies_left() const { return remaining_; }
  bool has_session() const { return !session_id_.empty(); }
  const GatewayIdentity& identity() const { return identity_; }
  // Every dispatch at or below it is durable or needed nothing: RESUME sends it.
  std::int64_t committed_seq() const { return committed_; }
  // The last `s` received: heartbeats send it.
  std::optional<std::int64_t> received_seq() const { return received_; }
  std::uint64_t generation() const { return generation_; }

 private:
  enum class Attempt : std::uint8_t { identify, resume };
  enum class Socket : std::uint8_t { none, connecting, open };

  void proceed(GatewayTime now, GatewayEffects& out);
  void identify_gate(GatewayTime now, GatewayEffects& out);
  void connect(Attempt attempt, GatewayEffects& out);
  void fetch(GatewayEffects& out);
  // Leaves the current connection (closing or dropping the socket if one is open) and
  // schedules the next attempt after a backoff delay of at least `min_delay`.
  enum class Leave : std::uint8_t { close, drop, already_closed };
  void reconnect(GatewayTime now, ReconnectReason reason, Leave how, GatewayEffects& out,
                 milliseconds min_delay = milliseconds{0});
  void leave_socket(Leave how, GatewayEffects& out);
  void fatal(std::optional<std::uint16_t> code, std::string error_code, std::string reason, GatewayEffects& out);
  // The session is gone (op 9 false, 4003/4005/4007/4009, failed resumes): forget it and
  // persist that. `why` goes into the gap warning.
  void drop_session(std::string_view why, GatewayEffects& out);
  void new_session(GatewayTime now, const GatewayFrame& frame, GatewayEffects& out);
  void on_dispatch(GatewayTime now, const GatewayFrame& frame, GatewayEffects& out);
  void heartbeat(GatewayTime now, GatewayEffects& out);
  void advance_watermark(GatewayEffects& out);
  void persist(GatewayEffects& out);
  void start_timer(TimerKind kind, milliseconds delay, GatewayEffects& out);
  void cancel_timer(TimerKind kind, GatewayEffects& out);
  void cancel_connection_timers(GatewayEffects& out);
  bool send(std::string text, GatewayEffects& out);
  double random01();
  void log(log::Level level, std::string event, std::vector<LogField> fields, GatewayEffects& out);

  GatewayConfig config_;
  GatewayState state_ = GatewayState::idle;
  GatewayCounters counters_;
  GatewayIdentity identity_;

  // /gateway/bot
  std::string gateway_url_;  // cached base URL; "" = fetch
  bool need_fetch_ = true;
  int connect_failures_ = 0;  // in a row, on the cached URL
  std::optional<std::int64_t> remaining_;
  GatewayTime budget_until_{};  // remaining_ is trusted until then (session_start_limit.reset_after)
  std::optional<GatewayTime> last_identify_;

  // Session
  std::string session_id_;
  std::string resume_url_;
  std::uint64_t generation_ = 0;
  std::optional<std::int64_t> received_;
  std::int64_t highest_seen_ = 0;  // highest dispatch seq of this session
  std::int64_t committed_ = 0;
  std::set<std::int64_t> pending_;  // Ingest emitted, commit not yet reported
  int resume_failures_ = 0;
  bool empty_content_hinted_ = false;

  // Connection
  Socket socket_ = Socket::none;
  Attempt attempt_ = Attempt::identify;
  bool acked_ = true;
  milliseconds heartbeat_interval_{0};
  std::optional<GatewayTime> heartbeat_sent_;
  std::optional<milliseconds> rtt_;
  std::optional<GatewayTime> ready_at_;
  std::int64_t backoff_attempt_ = 0;

  std::array<std::uint64_t, kTimerKinds> timer_tokens_{};  // 0 = not armed
  std::uint64_t next_token_ = 1;
  std::function<double()> random_;
};

}  // namespace sb::channels::discord
