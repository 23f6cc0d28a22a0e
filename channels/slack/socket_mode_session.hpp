#pragma once
// Slack Socket Mode connection manager: a pure state machine. Every input (an answer of
// apps.connections.open, a socket event, a text frame, a timer, a storage answer) returns
// the effects the owner must carry out, in order; it does no I/O and reads no clock.
//
// Promises (docs/channels-slack-socket-mode.md):
// * an envelope is acknowledged only after its messages are committed, on the socket
//   that delivered it; if storage cannot commit, or that socket is gone, it is not
//   acknowledged and Slack redelivers it (same payload.event_id, deduplicated downstream);
// * a connection is used only after its `hello`;
// * a `disconnect` (in any state) opens the replacement first and closes the old socket
//   once the replacement said hello and the old one has no acknowledgement outstanding;
// * at most two of our sockets exist at once, and reconnects back off (with jitter)
//   until a connection stayed ready for `stable_after`.
//
// The owner's contract: run the effects in order; answer every OpenConnection with
// on_open_answer or on_open_failed, every Ingest with on_committed or on_commit_failed;
// report every socket it created (ConnectWs) closing exactly once with on_closed, also
// after a failed connect and after Close; a StartTimer replaces the pending timer of the
// same (kind, generation), and a timer that fires calls on_timer. Stale inputs (an
// unknown or finished generation) are ignored, so races between effects and callbacks
// are harmless.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "channels/slack/parse.hpp"
#include "channels/slack/socket_mode_envelope.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/result.hpp"
#include "runtime/messaging/inbound.hpp"

namespace sb::channels::slack::socket_mode {

using Generation = std::uint64_t;  // one per connection, increasing from 1

struct Config {
  BotIdentity bot;
  std::chrono::milliseconds hello_timeout{10'000};
  std::chrono::milliseconds reconnect_base{1'000};  // backoff_delay base; equal jitter
  std::chrono::milliseconds reconnect_cap{60'000};
  // A connection ready this long resets the backoff: a socket that dies right after its
  // hello, again and again, must not reconnect at full speed.
  std::chrono::milliseconds stable_after{60'000};
  // How long a superseded socket may wait for its replacement's hello (and then for its
  // outstanding acknowledgements) before it is closed anyway.
  std::chrono::milliseconds replacement_wait{30'000};
  // How long a socket we closed may take to report on_closed before it stops counting
  // against the two-socket cap.
  std::chrono::milliseconds close_wait{10'000};
  // apps.connections.open answered `ratelimited` without a usable Retry-After.
  std::chrono::milliseconds ratelimit_default{30'000};
  // Appends debug_reconnects=true to the socket URL: Slack then refreshes the connection
  // after about 360 s, for testing refreshes.
  bool debug_reconnects = false;
};

enum class ConnState : std::uint8_t {
  waiting,         // backing off before apps.connections.open
  opening,         // apps.connections.open asked
  connecting,      // ConnectWs given, socket not open yet
  awaiting_hello,  // socket open, not usable until Slack's hello
  ready,           // the connection in use
  draining,        // Slack asked to disconnect; still handled and acknowledged
  closing,         // Close given, waiting for on_closed
};
std::string_view to_string(ConnState state);

enum class TimerKind : std::uint8_t {
  hello_timeout,    // awaiting_hello took too long
  reconnect_delay,  // waiting is over: ask apps.connections.open
  drain_deadline,   // a draining socket waited long enough: close it
  close_deadline,   // a closing socket never reported on_closed: forget it
  stable,           // ready long enough: reset the backoff
};
std::string_view to_string(TimerKind kind);

enum class FatalReason : std::uint8_t {
  link_disabled,  // Socket Mode was turned off for the app
  not_authed,     // the rest: apps.connections.open errors no retry can fix
  invalid_auth,
  account_inactive,
  user_removed_from_team,
  team_disabled,
};
std::string_view to_string(FatalReason reason);

// Why a new connection was started (not counted: the first one, and retries of
// apps.connections.open, which keep their generation).
enum class ReconnectReason : std::uint8_t {
  disconnect_warning,
  disconnect_refresh_requested,
  disconnect_too_many_websockets,
  disconnect_unknown,
  hello_timeout,
  connect_failed,    // the socket closed before it opened
  unexpected_close,  // the socket closed without a disconnect message
};
inline constexpr std::size_t kReconnectReasons = 7;
std::string_view to_string(ReconnectReason reason);

// --- Effects ---------------------------------------------------------------------------

// POST {api_base_url}/api/apps.connections.open with the app token; answer with
// on_open_answer or on_open_failed for this generation.
struct OpenConnection {
  Generation gen = 0;
};
// Open a WebSocket to `url`. The URL carries a connection ticket: do not log it.
struct ConnectWs {
  Generation gen = 0;
  std::string url;
};
// Send one text frame (an acknowledgement) on this generation's socket.
struct Send {
  Generation gen = 0;
  std::string text;
};
// Close this generation's socket normally (1000), or abort the connect; then on_closed.
struct Close {
  Generation gen = 0;
};
struct StartTimer {
  TimerKind kind = TimerKind::hello_timeout;
  Generation gen = 0;
  std::chrono::milliseconds delay{0};
};
struct CancelTimer {
  TimerKind kind = TimerKind::hello_timeout;
  Generation gen = 0;
};
// Store these messages durably, then call on_committed (or on_commit_failed) with the
// same generation and envelope id.
struct Ingest {
  Generation gen = 0;
  std::string envelope_id;
  messaging::ParsedDelivery delivery;
};
// An envelope that is not an Events API event (a slash command, an interaction), for the
// operator's record. A slash command's message still comes as an Ingest.
struct Record {
  Generation gen = 0;
  std::string envelope_id;
  EnvelopeType kind = EnvelopeType::unknown;
  std::string summary;  // e.g. "command=/deploy channel=C1 user=U1"; never a token
};
// The session stopped for good: the operator must act (see FatalReason).
struct Fatal {
  FatalReason reason = FatalReason::link_disabled;
  std::string detail;
};
struct Log {
  log::Level level = log::Level::info;
  std::string event;   // e.g. "slack.socket.hello"
  std::string detail;  // logfmt-ish "gen=2 num_connections=1"; no URL, no token
};

using Effect =
    std::variant<OpenConnection, ConnectWs, Send, Close, StartTimer, CancelTimer, Ingest, Record, Fatal, Log>;
using Effects = std::vector<Effect>;

// --- Read-only state -------------------------------------------------------------------

struct Counters {
  std::uint64_t opens = 0;        // OpenConnection effects (retries included)
  std::uint64_t open_errors = 0;  // failed or refused apps.connections.open calls
  std::uint64_t envelopes = 0;    // envelopes received on usable sockets
  std::uint64_t envelopes_acked = 0;
  std::uint64_t acks_lost = 0;           // committed, but the delivering socket was gone
  std::uint64_t commit_failures = 0;     // not acknowledged: Slack redelivers
  std::uint64_t malformed_frames = 0;    // unparseable: no envelope id, nothing to ack
  std::uint64_t malformed_payloads = 0;  // acknowledged and dropped (see the .cpp)
  std::uint64_t unknown_envelopes = 0;   // acknowledged and dropped
  std::uint64_t refreshes = 0;           // replacements that took over from a socket
  std::array<std::uint64_t, kReconnectReasons> reconnects{};
  std::uint64_t reconnects_for(ReconnectReason r) const { return reconnects[static_cast<std::size_t>(r)]; }
};

struct ConnectionView {
  Generation gen = 0;
  ConnState state = ConnState::waiting;
  std::size_t pending_acks = 0;  // envelopes ingested, not yet answered by storage
  bool superseded = false;       // draining, and its replacement is ready
};

class Session {
 public:
  // jitter01 returns a sample in [0, 1] for the reconnect backoff (a seeded or fixed
  // source in tests).
  Session(Config config, std::function<double()> jitter01);

  Effects start();
  // Stops for good: closes every socket; outstanding acknowledgements are lost (Slack
  // redelivers those envelopes to the next process on the app token).
  Effects stop();

  // apps.connections.open answered: `retry_after` is the Retry-After header, if any.
  Effects on_open_answer(Generation gen, int http_status, std::optional<std::string_view> retry_after,
                         std::string_view body);
  Effects on_open_failed(Generation gen, const Error& error);  // transport failure
  Effects on_ws_open(Generation gen);
  // now_unix_ms stamps slash commands, which carry no time of their own.
  Effects on_text(Generation gen, std::string_view frame, std::int64_t now_unix_ms);
  Effects on_closed(Generation gen, std::optional<int> close_code);
  Effects on_timer(TimerKind kind, Generation gen);
  Effects on_committed(Generation gen, std::string_view envelope_id);
  Effects on_commit_failed(Generation gen, std::string_view envelope_id);

  std::vector<ConnectionView> connections() const;  // live ones, by generation
  std::optional<ConnState> state_of(Generation gen) const;
  const Counters& counters() const { return counters_; }
  std::optional<std::int64_t> last_num_connections() const { return last_num_connections_; }
  std::optional<FatalReason> fatal_reason() const { return fatal_; }
  bool started() const { return started_; }
  bool stopped() const { return stopped_; }

 private:
  struct Conn {
    ConnState state = ConnState::waiting;
    bool superseded = false;  // draining and the replacement is ready: close when idle
    bool stable = false;      // was ready for stable_after
    std::uint8_t timers = 0;  // bit per TimerKind started and not yet fired or cancelled
  };

  bool running() const { return started_ && !stopped_ && !fatal_; }
  Conn* find(Generation gen);
  std::size_t pending_for(Generation gen) const;
  std::size_t sockets() const;  // our connections that hold or will hold a socket

  void start_timer(Effects& out, Generation gen, Conn& c, TimerKind kind, std::chrono::milliseconds delay);
  void cancel_timer(Effects& out, Generation gen, Conn& c, TimerKind kind);
  void close(Effects& out, Generation gen, Conn& c);
  void forget(Effects& out, Generation gen);
  void shut_down(Effects& out);
  void ensure_connection(Effects& out);
  void open_after_backoff(Effects& out, Generation gen, Conn& c);
  void fatal(Effects& out, FatalReason reason, std::string detail);
  void close_if_idle(Effects& out, Generation gen, Conn& c);
  void ack_now(Effects& out, Generation gen, const std::string& envelope_id);

  void on_hello(Effects& out, Generation gen, Conn& c, const Hello& hello);
  void on_disconnect(Effects& out, Generation gen, Conn& c, const Disconnect& d);
  void on_envelope(Effects& out, Generation gen, Conn& c, Envelope e, std::int64_t now_unix_ms);
  void deliver(Effects& out, Generation gen, const Envelope& e, messaging::ParsedDelivery delivery);
  Effects on_commit_answer(Generation gen, std::string_view envelope_id, bool committed);

  Config config_;
  std::function<double()> jitter01_;
  std::map<Generation, Conn> conns_;
  // Envelopes handed to storage and not answered yet, by (generation, envelope id).
  std::set<std::pair<Generation, std::string>> pending_;
  // pending_'s size per generation: asked after every input (connections(), the owner's
  // status report), so it must not walk a burst of thousands of pending envelopes.
  std::map<Generation, std::size_t> pending_count_;
  Generation next_gen_ = 1;
  std::uint32_t failures_ = 0;                  // consecutive failures since a connection was stable
  std::optional<ReconnectReason> lost_reason_;  // why the next connection is needed
  std::optional<std::int64_t> last_num_connections_;
  std::optional<FatalReason> fatal_;
  bool started_ = false;
  bool stopped_ = false;
  Counters counters_;
};

}  // namespace sb::channels::slack::socket_mode
