#pragma once
// FakeSlackSocket: Slack's Web API and Socket Mode on loopback TLS, as one app (one
// app-level token) sees them (REFERENCE-websockets.md section 7.2), for tests of
// `mode = "socket"` bots:
//   POST /api/apps.connections.open   Authorization: Bearer <app token>, else not_authed /
//                                     invalid_auth; {"ok":true,"url":"wss://.../link/?ticket=..."}
//   WSS  /link/?ticket=...            single-use ticket; hello (num_connections,
//                                     debug_info.approximate_connection_time), then envelopes
//   POST /api/chat.postMessage        the replies (Bearer <bot token>), recorded
//   GET  /api/conversations.history   an empty channel (the sender's lookup after a crash)
// push_message() sends an events_api envelope to one live connection (round robin, as
// Slack spreads envelopes over an app's connections; queued while there is none) and
// records its acknowledgement. An envelope not acknowledged within redeliver_after is
// sent again, same event_id, retry_attempt + 1, retry_reason "timeout", up to
// max_retries times, on a live connection. disconnect() sends {"type":"disconnect"}.
// The fake counts apps.connections.open calls, sockets open at once, and whether each
// socket opened while another was still open (make-before-break).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "channels/slack/parse.hpp"
#include "tests/support/fake_ws_server.hpp"

namespace sb::test {

class FakeSlackSocket {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::string cert_file, key_file;  // TLS (the test PKI)
    std::string app_token = "xapp-1-fake-app-token";
    std::string bot_token = "xoxb-fake-bot-token";
    std::chrono::milliseconds redeliver_after{3000};  // Slack: about 3 s
    int max_retries = 3;
    int approximate_connection_time_s = 3600;
  };
  struct Reply {
    std::string channel, text, thread_ts;
    Clock::time_point at;  // when chat.postMessage arrived (latency benchmarks)
  };
  // One envelope's fate.
  struct EnvelopeRecord {
    std::string envelope_id, event_id;
    int attempt = -1;             // retry_attempt of the last delivery (-1: not sent yet)
    int deliveries = 0;           // times sent (first delivery and redeliveries)
    int acks = 0;                 // acknowledgements received
    int acked_attempt = -1;       // retry_attempt current when the first ack came
    size_t acked_on = 0;          // the connection (1, 2, ...) that carried the first ack
    std::vector<size_t> sent_on;  // the connections that carried each delivery
  };
  // One socket as the fake saw it open.
  struct SocketRecord {
    size_t id = 0;
    size_t others_open = 0;  // sockets of the app still open when this one connected
    bool disconnect_sent = false;
  };

  explicit FakeSlackSocket(Options o)
      : o_(std::move(o)), server_({.tls = true, .cert_file = o_.cert_file, .key_file = o_.key_file}) {
    server_.set_http_handler([this](const RecordedRequest& r) { return http(r); });
    server_.set_upgrade_filter([this](const RecordedRequest& r) { return upgrade(r); });
    server_.set_on_connect([this](FakeWsConnection& c) { on_connect(c); });
    redeliverer_ = std::thread([this] { redeliver_loop(); });
  }
  ~FakeSlackSocket() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    redeliverer_.join();
    server_.stop();
  }
  FakeSlackSocket(const FakeSlackSocket&) = delete;
  FakeSlackSocket& operator=(const FakeSlackSocket&) = delete;

  std::string api_base_url() const { return server_.http_url(); }
  FakeWsServer& server() { return server_; }

  void set_redeliver_after(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    o_.redeliver_after = d;
  }

  // A `message` event (channel_type "channel", or "im" for a D... channel) in an
  // events_api envelope; returns its envelope_id. event_id "" = a fresh one.
  std::string push_message(const std::string& channel, const std::string& user, const std::string& text,
                           std::string event_id = "") {
    std::lock_guard lock(mu_);
    const uint64_t n = ++envelope_counter_;
    if (event_id.empty()) event_id = "EvSOCK" + std::to_string(n);
    const std::string ts =
        std::to_string(1700000000 + n / 1000000) + "." + std::to_string(1000000 + n % 1000000).substr(1);
    Pending p;
    p.record.envelope_id = "f0e1d2c3-0000-4000-8000-" + std::to_string(100000000000 + n);
    p.record.event_id = event_id;
    p.payload = event_callback(event_id, channel, user, text, ts);
    p.seq = n;
    unacked_.emplace(n, p.record.envelope_id);
    const std::string id = p.record.envelope_id;
    auto& slot = envelopes_[id] = std::move(p);
    send_locked(slot);
    return id;
  }

  // {"type":"disconnect","reason":reason} on a socket (0 = the newest live one); false
  // when there is none. link_disabled also stops deliveries to it.
  bool disconnect(const std::string& reason, size_t socket = 0) {
    std::lock_guard lock(mu_);
    Conn* c = socket ? find_locked(socket) : newest_live_locked();
    if (!c || c->ws->closed()) return false;
    c->ws->send_text(R"({"type":"disconnect","reason":")" + reason + R"(","debug_info":{"host":"applink-fake"}})");
    c->record.disconnect_sent = true;
    if (reason == "link_disabled") c->live = false;
    return true;
  }

  // Counters and records.
  int opens() const { return opens_.load(); }                  // apps.connections.open calls, any answer
  int opens_refused() const { return opens_refused_.load(); }  // of those, not ok
  size_t max_simultaneous() const {
    std::lock_guard lock(mu_);
    return max_open_;
  }
  size_t sockets_open() const { return server_.connections_open(); }
  size_t sockets_accepted() const { return server_.connections_accepted(); }
  std::vector<SocketRecord> sockets() const {
    std::lock_guard lock(mu_);
    std::vector<SocketRecord> out;
    for (const auto& c : conns_) out.push_back(c.record);
    return out;
  }
  std::optional<EnvelopeRecord> envelope(const std::string& envelope_id) const {
    std::lock_guard lock(mu_);
    auto it = envelopes_.find(envelope_id);
    if (it == envelopes_.end()) return std::nullopt;
    return it->second.record;
  }
  size_t unacked() const {
    std::lock_guard lock(mu_);
    return unacked_.size();
  }
  size_t redeliveries() const {
    std::lock_guard lock(mu_);
    return redeliveries_;
  }
  // Acknowledgements of envelope ids the fake never sent (a client bug).
  size_t unknown_acks() const {
    std::lock_guard lock(mu_);
    return unknown_acks_;
  }
  size_t reply_count() const {
    std::lock_guard lock(mu_);
    return replies_.size();
  }
  std::vector<Reply> replies() const {
    std::lock_guard lock(mu_);
    return replies_;
  }
  // Requests that broke Slack's contract (the app token in the body, a GET, ...).
  std::vector<std::string> violations() const {
    std::lock_guard lock(mu_);
    return violations_;
  }
  bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout) const {
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done();
  }

 private:
  struct Pending {
    EnvelopeRecord record;
    std::string payload;  // the event_callback JSON
    Clock::time_point sent_at{};
    uint64_t seq = 0;  // push order
  };
  struct Conn {
    FakeWsConnection* ws = nullptr;  // owned by the server, valid while it lives
    SocketRecord record;
    bool live = true;  // takes envelopes
  };

  static std::string json_string(const std::string& s) {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
    return b.GetString();
  }
  static std::string event_callback(const std::string& event_id, const std::string& channel, const std::string& user,
                                    const std::string& text, const std::string& ts) {
    const bool dm = !channel.empty() && channel[0] == 'D';
    return R"({"token":"verification-token","team_id":"T0FAKE","api_app_id":"A0FAKE","event":{"type":"message","text":)" +
           json_string(text) + R"(,"user":)" + json_string(user) + R"(,"ts":")" + ts +
           R"(","team":"T0FAKE","channel":)" + json_string(channel) + R"(,"event_ts":")" + ts +
           R"(","channel_type":")" + (dm ? "im" : "channel") + R"("},"type":"event_callback","event_id":)" +
           json_string(event_id) +
           R"(,"event_time":1700000000,"authorizations":[{"team_id":"T0FAKE","user_id":"U0FAKEBOT","is_bot":true}]})";
  }

  Conn* find_locked(size_t id) {
    for (auto& c : conns_)
      if (c.record.id == id) return &c;
    return nullptr;
  }
  Conn* newest_live_locked() {
    for (auto it = conns_.rbegin(); it != conns_.rend(); ++it)
      if (it->live && !it->ws->closed()) return &*it;
    return nullptr;
  }
  // Round robin over the sockets that said hello and are still open, as Slack spreads
  // envelopes over every connection of the app.
  Conn* pick_locked() {
    std::vector<Conn*> live;
    for (auto& c : conns_)
      if (c.live && !c.ws->closed()) live.push_back(&c);
    if (live.empty()) return nullptr;
    return live[next_conn_++ % live.size()];
  }
  // Sends (or re-sends) an envelope with its current attempt; stays queued (sent_at
  // unset) while no socket is live.
  void send_locked(Pending& p) {
    Conn* c = pick_locked();
    if (!c) {
      p.sent_at = Clock::time_point{};
      return;
    }
    const int attempt = p.record.attempt + 1;
    std::string frame = R"({"envelope_id":")" + p.record.envelope_id + R"(","payload":)" + p.payload +
                        R"(,"type":"events_api","accepts_response_payload":false,"retry_attempt":)" +
                        std::to_string(attempt) + R"(,"retry_reason":")" + (attempt > 0 ? "timeout" : "") + R"("})";
    c->ws->send_text(std::move(frame));
    p.record.attempt = attempt;
    ++p.record.deliveries;
    p.record.sent_on.push_back(c->record.id);
    p.sent_at = Clock::now();
  }

  void redeliver_loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, std::chrono::milliseconds(10));
      if (stopping_) return;
      const auto now = Clock::now();
      // In push order, so that a redelivered burst keeps its order as Slack would try to;
      // only the unacknowledged ones (a 20,000-envelope burst would otherwise be walked
      // every 10 ms with the lock held, slowing the fake, not the broker).
      for (const auto& [seq, id] : unacked_) {
        Pending& p = envelopes_[id];
        const bool queued = p.sent_at == Clock::time_point{};
        if (!queued && (now - p.sent_at < o_.redeliver_after || p.record.attempt >= o_.max_retries)) continue;
        if (!queued) ++redeliveries_;
        send_locked(p);
      }
    }
  }

  std::optional<FakeHttpReply> upgrade(const RecordedRequest& r) {
    const std::string prefix = "/link/?ticket=";
    std::lock_guard lock(mu_);
    if (r.target.rfind(prefix, 0) != 0) return FakeHttpReply::text(404, "no such link");
    std::string ticket = r.target.substr(prefix.size());
    ticket = ticket.substr(0, ticket.find('&'));
    auto it = std::find(tickets_.begin(), tickets_.end(), ticket);
    if (it == tickets_.end()) return FakeHttpReply::text(401, "unknown or used ticket");
    tickets_.erase(it);  // single use, as Slack's
    return std::nullopt;
  }

  void on_connect(FakeWsConnection& ws) {
    std::lock_guard lock(mu_);
    Conn c;
    c.ws = &ws;
    c.record.id = ws.id();
    for (const auto& other : conns_) c.record.others_open += other.ws->closed() ? 0 : 1;
    const size_t open = c.record.others_open + 1;
    max_open_ = std::max(max_open_, open);
    ws.send_text(R"({"type":"hello","num_connections":)" + std::to_string(open) +
                 R"(,"debug_info":{"host":"applink-fake","build_number":1,"approximate_connection_time":)" +
                 std::to_string(o_.approximate_connection_time_s) + R"(},"connection_info":{"app_id":"A0FAKE"}})");
    ws.set_on_text([this](FakeWsConnection& from, const std::string& text) { on_ack(from, text); });
    conns_.push_back(c);
    // Envelopes that waited for a socket go out now, in order.
    for (const auto& [seq, id] : unacked_) {
      Pending& p = envelopes_[id];
      if (p.sent_at == Clock::time_point{}) send_locked(p);
    }
  }

  void on_ack(FakeWsConnection& from, const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str());
    std::lock_guard lock(mu_);
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("envelope_id") || !d["envelope_id"].IsString()) {
      violations_.push_back("socket message is not an acknowledgement: " + text.substr(0, 200));
      return;
    }
    auto it = envelopes_.find(d["envelope_id"].GetString());
    if (it == envelopes_.end()) {
      ++unknown_acks_;
      return;
    }
    EnvelopeRecord& e = it->second.record;
    if (e.acks++ == 0) {
      e.acked_attempt = e.attempt;
      e.acked_on = from.id();
      unacked_.erase(it->second.seq);
    }
  }

  FakeHttpReply http(const RecordedRequest& r) {
    const std::string auth = r.header("authorization").value_or("");
    if (r.target == "/api/apps.connections.open") {
      ++opens_;
      auto refuse = [&](const char* error) {
        ++opens_refused_;
        return FakeHttpReply::json(200, std::string(R"({"ok":false,"error":")") + error + R"("})");
      };
      if (r.method != "POST") {
        std::lock_guard lock(mu_);
        violations_.push_back("apps.connections.open with " + r.method);
        return refuse("insecure_request");
      }
      if (r.body.find(o_.app_token) != std::string::npos) {
        std::lock_guard lock(mu_);
        violations_.push_back("the app token in the body");
      }
      if (auth.empty()) return refuse("not_authed");
      if (auth != "Bearer " + o_.app_token) return refuse("invalid_auth");
      std::lock_guard lock(mu_);
      const std::string ticket = "tk-" + std::to_string(++ticket_counter_);
      tickets_.push_back(ticket);
      return FakeHttpReply::json(
          200, R"({"ok":true,"url":")" + server_.ws_url("/link/?ticket=" + ticket + "&app_id=A0FAKE") + R"("})");
    }
    if (r.target == "/api/chat.postMessage" && r.method == "POST") {
      if (auth != "Bearer " + o_.bot_token) return FakeHttpReply::json(200, R"({"ok":false,"error":"invalid_auth"})");
      rapidjson::Document d;
      d.Parse(r.body.c_str());
      auto str = [&](const char* k) {
        return d.IsObject() && d.HasMember(k) && d[k].IsString() ? std::string(d[k].GetString()) : std::string();
      };
      if (d.HasParseError() || str("channel").empty())
        return FakeHttpReply::json(200, R"({"ok":false,"error":"channel_not_found"})");
      std::lock_guard lock(mu_);
      replies_.push_back({str("channel"), channels::slack::unescape_text(str("text")), str("thread_ts"), Clock::now()});
      const std::string ts = "1800000000." + std::to_string(100000 + replies_.size());
      return FakeHttpReply::json(
          200, R"({"ok":true,"channel":)" + json_string(str("channel")) + R"(,"ts":")" + ts + R"("})");
    }
    if (r.method == "GET" && (r.target.rfind("/api/conversations.history?", 0) == 0 ||
                              r.target.rfind("/api/conversations.replies?", 0) == 0))
      return FakeHttpReply::json(200, R"({"ok":true,"messages":[],"has_more":false})");
    return FakeHttpReply::json(404, R"({"ok":false,"error":"unknown_method"})");
  }

  Options o_;
  FakeWsServer server_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<Conn> conns_;
  std::map<std::string, Pending> envelopes_;
  std::map<uint64_t, std::string> unacked_;  // by push order: not acknowledged yet
  std::vector<std::string> tickets_;
  std::vector<Reply> replies_;
  std::vector<std::string> violations_;
  uint64_t envelope_counter_ = 0;
  uint64_t ticket_counter_ = 0;
  size_t next_conn_ = 0;
  size_t max_open_ = 0;
  size_t redeliveries_ = 0;
  size_t unknown_acks_ = 0;
  std::atomic<int> opens_{0}, opens_refused_{0};
  std::thread redeliverer_;  // last: starts once everything above exists
};

}  // namespace sb::test
