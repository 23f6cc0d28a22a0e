#pragma once
// Shared by the poller tests: a polling Telegram bot pointed at a loopback fake Bot API,
// and that fake (getUpdates only), built on tests/support/fake_upstream.hpp.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "channels/bot/channel_bot.hpp"
#include "channels/factory/bot_factory.hpp"
#include "tests/support/fake_upstream.hpp"

namespace sb::test {

inline constexpr const char* kBotToken = "123456:AAH-test_token";

inline std::shared_ptr<const channels::ChannelBot> make_polling_bot(const std::string& base_url,
                                                                    config::BotMode mode = config::BotMode::polling) {
  config::ChannelBotConfig c;
  c.platform = "telegram";
  c.name = "main";
  c.api_base_url = base_url;
  c.mode = mode;
  c.secrets = {{"bot_token", "tg_token"}, {"secret_token", "tg_secret"}};
  c.settings = {{"username", "squad_bot"}};
  auto bot = channels::make_bot(c, [](const std::string& name) -> Result<Secret> {
    if (name == "tg_token") return Secret(kBotToken);
    if (name == "tg_secret") return Secret("webhook-secret");
    return make_error("vault.not_found", name);
  });
  if (!bot) throw std::runtime_error(bot.error().message);
  return std::shared_ptr<const channels::ChannelBot>(std::move(*bot));
}

// One private-chat text message from user 42 as a getUpdates result element.
inline std::string update_json(int64_t update_id, const std::string& text) {
  return R"({"update_id":)" + std::to_string(update_id) + R"(,"message":{"message_id":)" +
         std::to_string(update_id + 1000) +
         R"(,"from":{"id":42,"is_bot":false,"first_name":"Ann","username":"ann"},)"
         R"("chat":{"id":42,"type":"private"},"date":1700000000,"text":")" +
         text + R"("}})";
}

// The Bot API's getUpdates: answers the updates with update_id >= offset; with none,
// holds the request for the asked timeout (a long poll) and answers an empty result.
// Scripted replies (errors) are served first, one per request. A request with the
// wrong method, path, content type or body is counted and answered 404.
class FakeTelegram {
 public:
  FakeTelegram() {
    upstream_.set_handler([this](const RecordedRequest& r) { return handle(r); });
  }
  std::string url() const { return upstream_.url(); }
  FakeUpstream& upstream() { return upstream_; }

  void add_update(int64_t id, const std::string& text) {
    std::lock_guard lock(mutex_);
    updates_[id] = update_json(id, text);
  }
  void add_raw_update(int64_t id, std::string json) {
    std::lock_guard lock(mutex_);
    updates_[id] = std::move(json);
  }
  void script(std::vector<UpstreamReply> replies) {
    std::lock_guard lock(mutex_);
    for (auto& r : replies) scripted_.push_back(std::move(r));
  }
  // Offsets of the well-formed getUpdates requests, in arrival order.
  std::vector<int64_t> offsets() const {
    std::lock_guard lock(mutex_);
    return offsets_;
  }
  size_t bad_requests() const {
    std::lock_guard lock(mutex_);
    return bad_requests_;
  }
  size_t scripted_left() const {
    std::lock_guard lock(mutex_);
    return scripted_.size();
  }
  // Waits until a request with this offset arrived.
  bool wait_for_offset(int64_t offset, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      for (auto o : offsets())
        if (o == offset) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  UpstreamReply handle(const RecordedRequest& r) {
    static const std::regex offset_re(R"re("offset":(\d+))re"), timeout_re(R"re("timeout":(\d+))re");
    std::smatch offset_m, timeout_m;
    const bool ok = r.method == "POST" && r.target == std::string("/bot") + kBotToken + "/getUpdates" &&
                    r.header("Content-Type").value_or("").find("application/json") == 0 &&
                    std::regex_search(r.body, offset_m, offset_re) && std::regex_search(r.body, timeout_m, timeout_re);
    std::lock_guard lock(mutex_);
    if (!ok) {
      ++bad_requests_;
      return UpstreamReply::json(404, R"({"ok":false,"error_code":404,"description":"Not Found"})");
    }
    const int64_t offset = std::stoll(offset_m[1]);
    offsets_.push_back(offset);
    if (!scripted_.empty()) {
      auto reply = std::move(scripted_.front());
      scripted_.pop_front();
      return reply;
    }
    std::string result;
    for (auto it = updates_.lower_bound(offset); it != updates_.end(); ++it)
      result += (result.empty() ? "" : ",") + it->second;
    auto reply = UpstreamReply::json(200, R"({"ok":true,"result":[)" + result + "]}");
    if (result.empty()) reply.delay = std::chrono::seconds(std::stoll(timeout_m[1]));
    return reply;
  }

  mutable std::mutex mutex_;
  std::map<int64_t, std::string> updates_;
  std::deque<UpstreamReply> scripted_;
  std::vector<int64_t> offsets_;
  size_t bad_requests_ = 0;
  FakeUpstream upstream_;  // last: its threads call handle() until it is destroyed
};

}  // namespace sb::test
