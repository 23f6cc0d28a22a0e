#pragma once
// One loopback HTTP server standing in for all four platforms' send APIs (Slack Web API,
// Discord, WhatsApp Cloud API, Telegram Bot API). Every request is checked against the
// platform's contract (method, path, auth header, JSON body); a reply that passes is
// recorded as {platform, chat JID, text}; typing indicators are counted apart; anything
// else is a violation (answered 4xx, listed by violations()). The bots under test point
// their api_base_url here.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "tests/e2e/credentials.hpp"
#include "tests/support/fake_upstream.hpp"

namespace sb::test::e2e {

struct PlatformReply {
  std::string platform;  // slack | discord | whatsapp | telegram
  std::string chat;      // JID ("slack:C1"); Discord follow-ups: "dc-interaction:{token}"
  std::string text;      // Slack's entity escaping undone
  std::string path;
  std::chrono::steady_clock::time_point at;
  std::string key;  // Slack metadata outbox_id / Discord nonce, "" if none
  std::string id;   // the platform's id of the posted message (Slack ts, Discord id)
};

class FakePlatform {
 public:
  FakePlatform() : up_(FakeUpstreamOptions{}) {
    up_.set_handler([this](const RecordedRequest& r) { return handle(r); });
  }
  std::string url() const { return up_.url(); }

  std::vector<PlatformReply> replies() const {
    std::lock_guard lk(mutex_);
    return replies_;
  }
  std::vector<PlatformReply> replies_to(const std::string& chat) const {
    std::lock_guard lk(mutex_);
    std::vector<PlatformReply> out;
    for (const auto& r : replies_)
      if (r.chat == chat) out.push_back(r);
    return out;
  }
  std::vector<std::string> violations() const {
    std::lock_guard lk(mutex_);
    return violations_;
  }
  size_t typing_count() const {
    std::lock_guard lk(mutex_);
    return typing_;
  }
  size_t reply_count() const {
    std::lock_guard lk(mutex_);
    return replies_.size();
  }
  // Repeats the platform answered with the first message instead of posting (Discord's
  // enforce_nonce), and history lookups served (Slack conversations.history/replies).
  size_t deduplicated_by_nonce() const {
    std::lock_guard lk(mutex_);
    return nonce_repeats_;
  }
  size_t history_lookups() const {
    std::lock_guard lk(mutex_);
    return lookups_;
  }
  // Waits until `chat` has at least `n` replies; true if it did within `timeout`.
  bool wait_replies(const std::string& chat, size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lk(mutex_);
    return cv_.wait_for(lk, timeout, [&] {
      size_t k = 0;
      for (const auto& r : replies_) k += r.chat == chat;
      return k >= n;
    });
  }
  // Waits until the total reply count reaches `n`.
  bool wait_total(size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lk(mutex_);
    return cv_.wait_for(lk, timeout, [&] { return replies_.size() >= n; });
  }

 private:
  static std::string slack_unescape(std::string s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '&') {
        if (s.compare(i, 4, "&lt;") == 0) {
          out += '<';
          i += 3;
          continue;
        }
        if (s.compare(i, 4, "&gt;") == 0) {
          out += '>';
          i += 3;
          continue;
        }
        if (s.compare(i, 5, "&amp;") == 0) {
          out += '&';
          i += 4;
          continue;
        }
      }
      out += s[i];
    }
    return out;
  }
  static std::string str(const rapidjson::Value& v, const char* key) {
    if (!v.IsObject() || !v.HasMember(key)) return {};
    const auto& m = v[key];
    if (m.IsString()) return {m.GetString(), m.GetStringLength()};
    if (m.IsInt64()) return std::to_string(m.GetInt64());
    return {};
  }

  UpstreamReply violation(const RecordedRequest& r, const std::string& why) {
    std::lock_guard lk(mutex_);
    violations_.push_back(r.method + " " + r.target + ": " + why);
    return UpstreamReply::json(400, R"({"ok":false,"error":"contract"})");
  }
  void record(std::string platform, std::string chat, std::string text, const RecordedRequest& r, std::string key = {},
              std::string id = {}) {
    {
      std::lock_guard lk(mutex_);
      replies_.push_back({std::move(platform), std::move(chat), std::move(text), r.target,
                          std::chrono::steady_clock::now(), std::move(key), std::move(id)});
    }
    cv_.notify_all();
  }
  static std::string query_param(const std::string& target, const std::string& name) {
    const size_t q = target.find('?');
    if (q == std::string::npos) return {};
    size_t at = q + 1;
    while (at <= target.size()) {
      const size_t amp = std::min(target.find('&', at), target.size());
      const std::string pair = target.substr(at, amp - at);
      if (pair.rfind(name + "=", 0) == 0) return pair.substr(name.size() + 1);
      at = amp + 1;
    }
    return {};
  }
  // Slack conversations.history / conversations.replies: the channel's messages with
  // their metadata (include_all_metadata), newest first, since `oldest`.
  UpstreamReply slack_history(const RecordedRequest& r) {
    const std::string channel = query_param(r.target, "channel");
    if (channel.empty()) return UpstreamReply::json(200, R"({"ok":false,"error":"channel_not_found"})");
    const double oldest = std::atof(query_param(r.target, "oldest").c_str());
    std::lock_guard lk(mutex_);
    ++lookups_;
    std::string out = R"({"ok":true,"messages":[)";
    bool first = true;
    for (auto it = replies_.rbegin(); it != replies_.rend(); ++it) {
      if (it->platform != "slack" || it->chat != "slack:" + channel || std::atof(it->id.c_str()) < oldest) continue;
      out += first ? "" : ",";
      first = false;
      out += R"({"type":"message","ts":")" + it->id + R"(","text":"")";
      if (!it->key.empty())
        out += R"(,"metadata":{"event_type":"squadbox_outbox","event_payload":{"outbox_id":")" + it->key + R"("}})";
      out += "}";
    }
    out += R"(],"has_more":false})";
    return UpstreamReply::json(200, out);
  }
  void typing() {
    std::lock_guard lk(mutex_);
    ++typing_;
  }

  UpstreamReply handle(const RecordedRequest& r) {
    if (r.method == "GET" && (r.target.rfind("/api/conversations.history?", 0) == 0 ||
                              r.target.rfind("/api/conversations.replies?", 0) == 0)) {
      if (r.header("Authorization").value_or("") != std::string("Bearer ") + kSlackBotToken)
        return violation(r, "slack auth");
      return slack_history(r);
    }
    if (r.method != "POST") return violation(r, "method");
    rapidjson::Document doc;
    doc.Parse(r.body.data(), r.body.size());
    const bool json_ok = !doc.HasParseError() && doc.IsObject();
    const std::string& t = r.target;
    const std::string auth = r.header("Authorization").value_or("");

    if (t == "/api/chat.postMessage") {
      if (auth != std::string("Bearer ") + kSlackBotToken) return violation(r, "slack auth " + auth);
      if (!json_ok || str(doc, "channel").empty()) return violation(r, "slack body");
      std::string key;
      if (doc.HasMember("metadata") && doc["metadata"].IsObject() && doc["metadata"].HasMember("event_payload"))
        key = str(doc["metadata"]["event_payload"], "outbox_id");
      std::string ts;
      {
        std::lock_guard lk(mutex_);
        const uint64_t n = ++slack_seq_;
        ts = std::to_string(1700000000 + n / 1000000) + "." + std::to_string(1000000 + n % 1000000).substr(1);
      }
      record("slack", "slack:" + str(doc, "channel"), slack_unescape(str(doc, "text")), r, key, ts);
      return UpstreamReply::json(200, R"({"ok":true,"channel":")" + str(doc, "channel") + R"(","ts":")" + ts + R"("})");
    }
    const std::string followup = std::string("/api/v10/webhooks/") + kDiscordApplication + "/";
    if (t.rfind(followup, 0) == 0) {
      // Interaction follow-ups are authenticated by the interaction token in the path.
      if (!auth.empty()) return violation(r, "discord follow-up must not carry the bot token");
      if (!json_ok || !doc.HasMember("content")) return violation(r, "discord body");
      record("discord", "dc-interaction:" + t.substr(followup.size()), str(doc, "content"), r);
      return UpstreamReply::json(200, R"({"id":"222222222222222222","channel_id":"772908445358620702"})");
    }
    const std::string channels = "/api/v10/channels/";
    if (t.rfind(channels, 0) == 0) {
      if (auth != std::string("Bot ") + kDiscordBotToken) return violation(r, "discord auth");
      std::string rest = t.substr(channels.size());
      auto slash = rest.find('/');
      if (slash == std::string::npos) return violation(r, "discord path");
      if (rest.substr(slash) == "/typing") {
        typing();
        return UpstreamReply::json(204, "");
      }
      if (rest.substr(slash) != "/messages" || !json_ok) return violation(r, "discord path/body");
      const std::string chat = "dc:" + rest.substr(0, slash);
      const std::string nonce = str(doc, "nonce");
      const bool enforce =
          doc.HasMember("enforce_nonce") && doc["enforce_nonce"].IsBool() && doc["enforce_nonce"].GetBool();
      if (!nonce.empty() && enforce) {
        std::lock_guard lk(mutex_);
        for (const auto& earlier : replies_)
          if (earlier.chat == chat && earlier.key == nonce) {
            ++nonce_repeats_;  // Discord answers with the first message and posts nothing
            return UpstreamReply::json(200,
                                       R"({"id":")" + earlier.id + R"(","channel_id":"1","nonce":")" + nonce + R"("})");
          }
      }
      std::string id;
      {
        std::lock_guard lk(mutex_);
        id = std::to_string(222222222222222223ULL + ++discord_seq_);
      }
      record("discord", chat, str(doc, "content"), r, enforce ? nonce : std::string(), id);
      return UpstreamReply::json(200, R"({"id":")" + id + R"(","channel_id":"1"})");
    }
    if (t == std::string("/v21.0/") + kWhatsAppPhone + "/messages") {
      if (auth != std::string("Bearer ") + kWhatsAppAccess) return violation(r, "whatsapp auth");
      if (!json_ok) return violation(r, "whatsapp body");
      if (doc.HasMember("text") && doc["text"].IsObject()) {
        record("whatsapp", "wa:" + str(doc, "to"), str(doc["text"], "body"), r);
        return UpstreamReply::json(200, R"({"messaging_product":"whatsapp","messages":[{"id":"wamid.E2E"}]})");
      }
      typing();  // read receipt / typing indicator
      return UpstreamReply::json(200, R"({"success":true})");
    }
    const std::string bot = std::string("/bot") + kTelegramBotToken + "/";
    if (t.rfind(bot, 0) == 0) {
      const std::string method = t.substr(bot.size());
      if (!json_ok) return violation(r, "telegram body");
      if (method == "sendChatAction") {
        typing();
        return UpstreamReply::json(200, R"({"ok":true,"result":true})");
      }
      if (method != "sendMessage") return violation(r, "telegram method");
      record("telegram", "tg:" + str(doc, "chat_id"), str(doc, "text"), r);
      return UpstreamReply::json(200, R"({"ok":true,"result":{"message_id":77,"chat":{"id":1}}})");
    }
    return violation(r, "unknown endpoint");
  }

  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::vector<PlatformReply> replies_;
  std::vector<std::string> violations_;
  size_t typing_ = 0;
  size_t nonce_repeats_ = 0;
  size_t lookups_ = 0;
  uint64_t slack_seq_ = 0;
  uint64_t discord_seq_ = 0;
  FakeUpstream up_;  // last: stopped first, so the handler never sees a dead `this`
};

}  // namespace sb::test::e2e
