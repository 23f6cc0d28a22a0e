#pragma once
// FakeDiscord: Discord's REST API and Gateway (v10) on loopback TLS, as a bot sees them
// (REFERENCE-websockets.md section 7.1), for tests of `mode = "gateway"` bots:
//   GET  /api/v10/gateway/bot              (Authorization: Bot <token>, else 401)
//   WSS  /gw?v=10&encoding=json            hello, heartbeat ACKs, identify -> READY
//   WSS  /resume?v=10&encoding=json        resume -> replay of s > seq, then RESUMED
//   POST /api/v10/channels/{id}/messages   the replies (recorded)
// Sessions outlive their sockets (a resume within the window works, also after the
// bot's process restarted); dispatch() numbers events per session and keeps them for
// replay. Misbehaviour on command: zombie (no ACKs), op 7, op 9, a close code, a drop.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "tests/support/fake_ws_server.hpp"

namespace sb::test {

class FakeDiscord {
 public:
  struct Options {
    std::string cert_file, key_file;  // TLS (the test PKI)
    std::string token = "discord-test-token";
    // A token revoked after it fetched /gateway/bot: REST accepts it, identify closes 4004
    // (as Discord does when a token is reset while a bot connects).
    std::string revoked_token{};
    int heartbeat_interval_ms = 1000;      // small, so tests run fast
    int64_t allowed_privileged = 1 << 15;  // MESSAGE_CONTENT enabled "in the portal"
    std::string bot_user_id = "900000000000000001";
  };
  struct Reply {
    std::string channel_id, content, nonce;
    std::chrono::steady_clock::time_point at;  // when the request arrived (latency benchmarks)
  };

  explicit FakeDiscord(Options o)
      : o_(std::move(o)), server_({.tls = true, .cert_file = o_.cert_file, .key_file = o_.key_file}) {
    server_.set_http_handler([this](const RecordedRequest& r) { return http(r); });
    server_.set_on_connect([this](FakeWsConnection& c) { on_connect(c); });
  }

  std::string api_base_url() const { return server_.http_url(); }
  FakeWsServer& server() { return server_; }

  // Sends MESSAGE_CREATE in the current session (delivered now if a socket is ready,
  // else on resume); returns its sequence number. guild_id "" = a DM.
  int64_t dispatch_message(const std::string& id, const std::string& channel_id, const std::string& content,
                           const std::string& guild_id = "", const std::string& author_id = "300000000000000001",
                           bool author_bot = false) {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    w.StartObject();
    w.Key("id"), w.String(id.c_str());
    w.Key("channel_id"), w.String(channel_id.c_str());
    if (!guild_id.empty()) w.Key("guild_id"), w.String(guild_id.c_str());
    w.Key("author"), w.StartObject();
    w.Key("id"), w.String(author_id.c_str());
    w.Key("username"), w.String("human");
    if (author_bot) w.Key("bot"), w.Bool(true);
    w.EndObject();
    w.Key("content"), w.String(content.c_str());
    w.Key("timestamp"), w.String("2026-12-07T08:00:00.000000+00:00");
    w.Key("type"), w.Int(0);
    w.Key("mentions"), w.StartArray(), w.EndArray();
    w.EndObject();
    return dispatch("MESSAGE_CREATE", b.GetString());
  }
  int64_t dispatch(const std::string& type, const std::string& d_json) {
    std::lock_guard lock(mu_);
    auto* s = current_session();
    if (!s) return 0;
    const int64_t seq = ++s->seq;
    std::string frame = R"({"op":0,"t":")" + type + R"(","s":)" + std::to_string(seq) + R"(,"d":)" + d_json + "}";
    s->events.emplace_back(seq, frame);
    if (s->conn && s->live) s->conn->send_text(frame);
    return seq;
  }

  // Misbehaviour.
  void set_zombie(bool on) { zombie_ = on; }  // stop ACKing heartbeats
  void reconnect_request() { send_current(R"({"op":7,"d":null})"); }
  void invalid_session(bool resumable) {
    send_current(std::string(R"({"op":9,"d":)") + (resumable ? "true" : "false") + "}");
    if (!resumable) {
      std::lock_guard lock(mu_);
      sessions_.erase(current_);
    }
  }
  void close_current(uint16_t code) {
    std::lock_guard lock(mu_);
    if (auto* s = current_session(); s && s->conn) s->conn->close(code, "test");
  }
  void drop_current() {
    std::lock_guard lock(mu_);
    if (auto* s = current_session(); s && s->conn) s->conn->drop();
  }

  // Counters and records.
  int identifies() const { return identifies_.load(); }
  int refused_identifies() const { return refused_identifies_.load(); }
  int resumes() const { return resumes_.load(); }
  int heartbeats() const { return heartbeats_.load(); }
  std::vector<Reply> replies() const {
    std::lock_guard lock(mu_);
    return replies_;
  }
  size_t reply_count() const {
    std::lock_guard lock(mu_);
    return replies_.size();
  }
  bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout) const {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  }
  // True once the current session's socket got READY or RESUMED.
  bool ready() const {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(current_);
    return it != sessions_.end() && it->second.live;
  }
  std::string session_id() const {
    std::lock_guard lock(mu_);
    return current_;
  }

 private:
  struct Session {
    int64_t seq = 0;
    std::vector<std::pair<int64_t, std::string>> events;
    FakeWsConnection* conn = nullptr;  // the socket that holds it now
    bool live = false;                 // READY/RESUMED sent on conn
  };

  Session* current_session() {
    auto it = sessions_.find(current_);
    return it == sessions_.end() ? nullptr : &it->second;
  }
  void send_current(const std::string& frame) {
    std::lock_guard lock(mu_);
    if (auto* s = current_session(); s && s->conn) s->conn->send_text(frame);
  }

  FakeHttpReply http(const RecordedRequest& r) {
    auto auth = r.header("authorization").value_or("");
    if (auth != "Bot " + o_.token && (o_.revoked_token.empty() || auth != "Bot " + o_.revoked_token))
      return FakeHttpReply::json(401, R"({"message":"401: Unauthorized","code":0})");
    if (r.method == "GET" && r.target == "/api/v10/gateway/bot")
      return FakeHttpReply::json(
          200,
          R"({"url":")" + server_.ws_url("/gw") +
              R"(","shards":1,"session_start_limit":{"total":1000,"remaining":990,"reset_after":14400000,"max_concurrency":1}})");
    const std::string prefix = "/api/v10/channels/";
    if (r.method == "POST" && r.target.rfind(prefix, 0) == 0) {
      auto rest = r.target.substr(prefix.size());
      auto slash = rest.find('/');
      rapidjson::Document d;
      d.Parse(r.body.c_str());
      Reply reply;
      reply.at = std::chrono::steady_clock::now();
      reply.channel_id = rest.substr(0, slash);
      if (d.IsObject() && d.HasMember("content") && d["content"].IsString()) reply.content = d["content"].GetString();
      if (d.IsObject() && d.HasMember("nonce") && d["nonce"].IsString()) reply.nonce = d["nonce"].GetString();
      std::lock_guard lock(mu_);
      replies_.push_back(reply);
      const std::string id = std::to_string(1100000000000000000LL + static_cast<long long>(replies_.size()));
      return FakeHttpReply::json(200, R"({"id":")" + id + R"(","channel_id":")" + reply.channel_id + R"("})");
    }
    return FakeHttpReply::json(404, R"({"message":"404: Not Found","code":0})");
  }

  void on_connect(FakeWsConnection& c) {
    const auto& target = c.request().target;
    if (target.find("v=10") == std::string::npos || target.find("encoding=json") == std::string::npos) {
      c.close(4012, "Invalid API version");
      return;
    }
    c.send_text(R"({"op":10,"d":{"heartbeat_interval":)" + std::to_string(o_.heartbeat_interval_ms) + "}}");
    c.set_on_text([this](FakeWsConnection& conn, const std::string& text) { on_text(conn, text); });
  }

  void on_text(FakeWsConnection& c, const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("op") || !d["op"].IsInt()) {
      c.close(4002, "Decode error");
      return;
    }
    const int op = d["op"].GetInt();
    if (op == 1) {
      ++heartbeats_;
      if (!zombie_) c.send_text(R"({"op":11})");
      return;
    }
    if (op == 2) return identify(c, d["d"]);
    if (op == 6) return resume(c, d["d"]);
    c.close(4001, "Unknown opcode");
  }

  // identifies() counts those with the right token; refused_identifies() the others.
  void identify(FakeWsConnection& c, const rapidjson::Value& d) {
    if (!d.IsObject() || !d.HasMember("token") || !d["token"].IsString() || d["token"].GetString() != o_.token) {
      ++refused_identifies_;
      c.close(4004, "Authentication failed.");
      return;
    }
    ++identifies_;
    const int64_t intents = d.HasMember("intents") && d["intents"].IsInt64() ? d["intents"].GetInt64() : -1;
    const int64_t privileged = (1 << 1) | (1 << 8) | (1 << 15);
    if (intents < 0) {
      c.close(4013, "Invalid intent(s).");
      return;
    }
    if ((intents & privileged & ~o_.allowed_privileged) != 0) {
      c.close(4014, "Disallowed intent(s).");
      return;
    }
    std::lock_guard lock(mu_);
    current_ = "sess-" + std::to_string(++session_counter_);
    Session& s = sessions_[current_];
    s.conn = &c;
    s.seq = 1;
    s.live = true;
    c.send_text(R"({"op":0,"t":"READY","s":1,"d":{"v":10,"user":{"id":")" + o_.bot_user_id +
                R"(","username":"squadbot","bot":true},"guilds":[],"session_id":")" + current_ +
                R"(","resume_gateway_url":")" + server_.ws_url("/resume") + R"(","application":{"id":"1"}}})");
  }

  void resume(FakeWsConnection& c, const rapidjson::Value& d) {
    ++resumes_;
    std::lock_guard lock(mu_);
    const std::string sid =
        d.IsObject() && d.HasMember("session_id") && d["session_id"].IsString() ? d["session_id"].GetString() : "";
    auto it = sessions_.find(sid);
    if (it == sessions_.end() || !d.HasMember("token") || !d["token"].IsString() ||
        d["token"].GetString() != o_.token) {
      c.send_text(R"({"op":9,"d":false})");
      return;
    }
    const int64_t seq = d.HasMember("seq") && d["seq"].IsInt64() ? d["seq"].GetInt64() : 0;
    Session& s = it->second;
    if (seq > s.seq) {
      c.close(4007, "Invalid seq");
      return;
    }
    current_ = sid;
    s.conn = &c;
    for (const auto& [n, frame] : s.events)
      if (n > seq) c.send_text(frame);
    const int64_t resumed_seq = ++s.seq;
    std::string frame = R"({"op":0,"t":"RESUMED","s":)" + std::to_string(resumed_seq) + R"(,"d":{}})";
    s.events.emplace_back(resumed_seq, frame);
    c.send_text(frame);
    s.live = true;
  }

  Options o_;
  FakeWsServer server_;
  mutable std::mutex mu_;
  std::map<std::string, Session> sessions_;
  std::string current_;
  int session_counter_ = 0;
  std::vector<Reply> replies_;
  std::atomic<bool> zombie_{false};
  std::atomic<int> identifies_{0}, resumes_{0}, heartbeats_{0}, refused_identifies_{0};
};

}  // namespace sb::test
