#pragma once
// One loopback HTTP server standing in for all four platforms' send APIs (Slack Web API,
// Discord, WhatsApp Cloud API, Telegram Bot API). Every request is checked against the
// platform's contract (method, path, auth header, JSON body); a reply that passes is
// recorded as {platform, chat JID, text}; typing indicators are counted apart; anything
// else is a violation (answered 4xx, listed by violations()). The bots under test point
// their api_base_url here.
#include <chrono>
#include <condition_variable>
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
  void record(std::string platform, std::string chat, std::string text, const RecordedRequest& r) {
    {
      std::lock_guard lk(mutex_);
      replies_.push_back(
          {std::move(platform), std::move(chat), std::move(text), r.target, std::chrono::steady_clock::now()});
    }
    cv_.notify_all();
  }
  void typing() {
    std::lock_guard lk(mutex_);
    ++typing_;
  }

  UpstreamReply handle(const RecordedRequest& r) {
    if (r.method != "POST") return violation(r, "method");
    rapidjson::Document doc;
    doc.Parse(r.body.data(), r.body.size());
    const bool json_ok = !doc.HasParseError() && doc.IsObject();
    const std::string& t = r.target;
    const std::string auth = r.header("Authorization").value_or("");

    if (t == "/api/chat.postMessage") {
      if (auth != std::string("Bearer ") + kSlackBotToken) return violation(r, "slack auth " + auth);
      if (!json_ok || str(doc, "channel").empty()) return violation(r, "slack body");
      record("slack", "slack:" + str(doc, "channel"), slack_unescape(str(doc, "text")), r);
      return UpstreamReply::json(200, R"({"ok":true,"channel":"C1","ts":"1700000000.000100"})");
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
      record("discord", "dc:" + rest.substr(0, slash), str(doc, "content"), r);
      return UpstreamReply::json(200, R"({"id":"222222222222222223","channel_id":"1"})");
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
  FakeUpstream up_;  // last: stopped first, so the handler never sees a dead `this`
};

}  // namespace sb::test::e2e
