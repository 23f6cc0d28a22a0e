#include "channels/bots/channel_bot.hpp"

#include "channels/discord/outbound.hpp"
#include "channels/discord/parse.hpp"
#include "channels/discord/verify.hpp"
#include "channels/slack/outbound.hpp"
#include "channels/slack/parse.hpp"
#include "channels/slack/verify.hpp"
#include "channels/telegram/outbound.hpp"
#include "channels/telegram/parse.hpp"
#include "channels/telegram/verify.hpp"
#include "channels/whatsapp/outbound.hpp"
#include "channels/whatsapp/parse.hpp"
#include "channels/whatsapp/verify.hpp"

namespace sb::channels {
namespace {

Error no_credential(const ChannelBot& bot, std::string_view key) {
  return make_error("channel.no_credential",
                    "bot " + bot.id() + " has no " + std::string(key) + ": it cannot send messages");
}

Result<Secret> lookup(const config::ChannelBotConfig& config, const SecretLookup& secrets, const std::string& role) {
  const std::string entry = config.secret(role);
  if (entry.empty()) return Secret{};
  auto value = secrets(entry);
  if (!value)
    return make_error("channel.secret", "channels." + config.platform + "." + config.name + "." + role +
                                            ": vault entry '" + entry + "' is not available (" +
                                            value.error().message + "); set it with `squadbox secret set " +
                                            entry + "`");
  return *value;
}

bool digits(std::string_view s, bool allow_minus = false) {
  if (allow_minus && !s.empty() && s.front() == '-') s.remove_prefix(1);
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// A JSON string body value: the ids that reach here are checked to be plain ASCII.
bool plain_id(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s)
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  return true;
}

class SlackBot final : public ChannelBot {
 public:
  SlackBot(const config::ChannelBotConfig& c, slack::Verifier verifier, Secret bot_token)
      : ChannelBot(ChannelKind::slack, c, default_base_url(ChannelKind::slack)),
        verifier_(std::move(verifier)),
        token_(std::move(bot_token)),
        identity_{c.name, c.setting("bot_user_id")} {
    can_send_ = !token_.empty();
  }
  Verdict verify(const WebhookRequest& r, std::chrono::system_clock::time_point now) const override {
    return verifier_.verify(r, now);
  }
  Result<ParsedDelivery> parse(const WebhookRequest& r, std::int64_t received_ms) const override {
    // Slash commands arrive form-encoded, Events API deliveries as JSON.
    auto type = find_header(r.headers, "content-type");
    if (type && type->find("application/x-www-form-urlencoded") != std::string_view::npos)
      return slack::parse_slash_command(identity_, r.body, received_ms);
    return slack::parse_event(identity_, r.body);
  }
  SplitRule split_rule() const override { return slack::kSplitRule; }
  Result<OutboundRequest> build_message(std::string_view chat, std::string_view text,
                                        std::string_view reply_to) const override {
    if (!can_send_) return no_credential(*this, "bot_token");
    return slack::build_post_message(token_, chat, text, reply_to);
  }
  DeliveryOutcome classify(const HttpReply& reply) const override { return slack::classify_response(reply); }

 private:
  slack::Verifier verifier_;
  Secret token_;
  slack::BotIdentity identity_;
};

class DiscordBot final : public ChannelBot {
 public:
  DiscordBot(const config::ChannelBotConfig& c, discord::Verifier verifier, Secret bot_token)
      : ChannelBot(ChannelKind::discord, c, default_base_url(ChannelKind::discord)),
        verifier_(std::move(verifier)),
        token_(std::move(bot_token)),
        identity_{c.name, c.setting("application_id")} {
    // Follow-ups need only the application id; channel messages need the bot token.
    can_send_ = !token_.empty() || !identity_.application_id.empty();
  }
  Verdict verify(const WebhookRequest& r, std::chrono::system_clock::time_point) const override {
    return verifier_.verify(r);
  }
  Result<ParsedDelivery> parse(const WebhookRequest& r, std::int64_t) const override {
    return discord::parse_interaction(identity_, r.body);
  }
  SplitRule split_rule() const override { return discord::kSplitRule; }
  Result<OutboundRequest> build_message(std::string_view chat, std::string_view text,
                                        std::string_view reply_to) const override {
    if (!reply_to.empty() && !identity_.application_id.empty())
      return discord::build_followup(identity_.application_id, Secret(std::string(reply_to)), text);
    if (token_.empty()) return no_credential(*this, "bot_token");
    return discord::build_channel_message(token_, chat, text);
  }
  DeliveryOutcome classify(const HttpReply& reply) const override { return discord::classify_response(reply); }
  Result<OutboundRequest> build_typing(std::string_view chat, std::string_view) const override {
    if (token_.empty()) return no_credential(*this, "bot_token");
    if (!digits(chat)) return make_error("channel.bad_value", "Discord channel id must be a snowflake");
    OutboundRequest r;
    r.method = "POST";
    r.path = r.log_path = "/api/v10/channels/" + std::string(chat) + "/typing";
    r.headers = {{"Authorization", "Bot " + token_.reveal()}};
    return r;
  }

 private:
  discord::Verifier verifier_;
  Secret token_;
  discord::BotIdentity identity_;
};

class WhatsAppBot final : public ChannelBot {
 public:
  WhatsAppBot(const config::ChannelBotConfig& c, whatsapp::Verifier verifier, Secret access_token)
      : ChannelBot(ChannelKind::whatsapp, c, default_base_url(ChannelKind::whatsapp)),
        verifier_(std::move(verifier)),
        token_(std::move(access_token)),
        identity_{c.name, c.setting("phone_number_id")},
        api_version_(c.setting("api_version").empty() ? "v21.0" : c.setting("api_version")) {
    can_send_ = !token_.empty() && !identity_.phone_number_id.empty();
  }
  Verdict verify(const WebhookRequest& r, std::chrono::system_clock::time_point) const override {
    return verifier_.verify(r);
  }
  Result<ParsedDelivery> parse(const WebhookRequest& r, std::int64_t) const override {
    return whatsapp::parse_delivery(identity_, r.body);
  }
  SplitRule split_rule() const override { return whatsapp::kSplitRule; }
  Result<OutboundRequest> build_message(std::string_view chat, std::string_view text,
                                        std::string_view reply_to) const override {
    if (!can_send_) return no_credential(*this, token_.empty() ? "access_token" : "phone_number_id");
    return whatsapp::build_text_message(token_, api_version_, identity_.phone_number_id, chat, text, reply_to);
  }
  DeliveryOutcome classify(const HttpReply& reply) const override { return whatsapp::classify_response(reply); }
  Result<OutboundRequest> build_typing(std::string_view, std::string_view message_id) const override {
    if (!can_send_) return no_credential(*this, token_.empty() ? "access_token" : "phone_number_id");
    if (!plain_id(message_id)) return make_error("channel.bad_value", "WhatsApp typing needs the inbound message id");
    OutboundRequest r;
    r.method = "POST";
    r.path = r.log_path = "/" + api_version_ + "/" + identity_.phone_number_id + "/messages";
    r.headers = {{"Authorization", "Bearer " + token_.reveal()}, {"Content-Type", "application/json"}};
    r.body = R"({"messaging_product":"whatsapp","status":"read","message_id":")" + std::string(message_id) +
             R"(","typing_indicator":{"type":"text"}})";
    return r;
  }

 private:
  whatsapp::Verifier verifier_;
  Secret token_;
  whatsapp::BotIdentity identity_;
  std::string api_version_;
};

class TelegramBot final : public ChannelBot {
 public:
  TelegramBot(const config::ChannelBotConfig& c, std::optional<telegram::Verifier> verifier, Secret bot_token)
      : ChannelBot(ChannelKind::telegram, c, default_base_url(ChannelKind::telegram)),
        verifier_(std::move(verifier)),
        token_(std::move(bot_token)) {
    identity_.name = c.name;
    identity_.bot_user_id = telegram::bot_id_from_token(token_.reveal()).value_or(0);
    identity_.username = c.setting("username");
    polling_ = c.mode == "polling";
    can_send_ = !token_.empty();
  }
  Verdict verify(const WebhookRequest& r, std::chrono::system_clock::time_point) const override {
    // A polling bot has no webhook: nothing may be delivered to it.
    if (!verifier_) return Verdict::reject(404, "polling_bot");
    return verifier_->verify(r);
  }
  Result<ParsedDelivery> parse(const WebhookRequest& r, std::int64_t) const override {
    return telegram::parse_update(identity_, r.body);
  }
  SplitRule split_rule() const override { return telegram::kSplitRule; }
  Result<OutboundRequest> build_message(std::string_view chat, std::string_view text,
                                        std::string_view reply_to) const override {
    if (!can_send_) return no_credential(*this, "bot_token");
    return telegram::build_send_message(token_, chat, text, reply_to);
  }
  DeliveryOutcome classify(const HttpReply& reply) const override { return telegram::classify_response(reply); }
  Result<OutboundRequest> build_typing(std::string_view chat, std::string_view) const override {
    if (!can_send_) return no_credential(*this, "bot_token");
    if (!digits(chat, true)) return make_error("channel.bad_value", "Telegram chat id must be a 64-bit integer");
    OutboundRequest r;
    r.method = "POST";
    r.path = "/bot" + token_.reveal() + "/sendChatAction";
    r.log_path = "/bot" + std::string(Secret::redacted) + "/sendChatAction";
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"chat_id":)" + std::string(chat) + R"(,"action":"typing"})";
    return r;
  }

  Result<OutboundRequest> build_poll(std::int64_t offset, int timeout_seconds) const override {
    if (!polling_) return ChannelBot::build_poll(offset, timeout_seconds);
    return telegram::build_get_updates(token_, offset, timeout_seconds);
  }
  Result<PolledBatch> parse_poll(std::string_view body) const override {
    auto polled = telegram::parse_get_updates(identity_, body);
    if (!polled) return polled.error();
    return PolledBatch{std::move(polled->delivery), polled->next_offset};
  }

 private:
  std::optional<telegram::Verifier> verifier_;
  Secret token_;
  telegram::BotIdentity identity_;
};

}  // namespace

ChannelBot::ChannelBot(ChannelKind kind, const config::ChannelBotConfig& config, std::string default_url)
    : kind_(kind), name_(config.name), base_url_(config.api_base_url.empty() ? std::move(default_url) : config.api_base_url) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

Result<OutboundRequest> ChannelBot::build_typing(std::string_view, std::string_view) const {
  return make_error("channel.no_typing", "bot " + id() + " has no typing indicator");
}

Result<OutboundRequest> ChannelBot::build_poll(std::int64_t, int) const {
  return make_error("channel.not_polling", "bot " + id() + " does not poll");
}

Result<ChannelBot::PolledBatch> ChannelBot::parse_poll(std::string_view) const {
  return make_error("channel.not_polling", "bot " + id() + " does not poll");
}

std::string ChannelBot::id() const { return std::string(channel_name(kind_)) + "/" + name_; }

std::string default_base_url(ChannelKind kind) {
  switch (kind) {
    case ChannelKind::slack: return "https://slack.com";
    case ChannelKind::discord: return "https://discord.com";
    case ChannelKind::whatsapp: return "https://graph.facebook.com";
    case ChannelKind::telegram: return "https://api.telegram.org";
  }
  return {};
}

Result<ChannelKind> parse_channel_kind(std::string_view name) {
  for (auto kind : {ChannelKind::slack, ChannelKind::discord, ChannelKind::whatsapp, ChannelKind::telegram})
    if (channel_name(kind) == name) return kind;
  return make_error("channel.bad_value", "unknown channel '" + std::string(name) + "'");
}

Result<std::unique_ptr<ChannelBot>> make_bot(const config::ChannelBotConfig& c, const SecretLookup& secrets) {
  auto kind = parse_channel_kind(c.platform);
  if (!kind) return kind.error();
  auto config_error = [&](const Error& e) {
    return make_error("channel.config", "channels." + c.platform + "." + c.name + ": " + e.message);
  };
  switch (*kind) {
    case ChannelKind::slack: {
      auto signing = lookup(c, secrets, "signing_secret");
      if (!signing) return signing.error();
      auto token = lookup(c, secrets, "bot_token");
      if (!token) return token.error();
      auto verifier = slack::Verifier::create(*signing);
      if (!verifier) return config_error(verifier.error());
      return std::unique_ptr<ChannelBot>(std::make_unique<SlackBot>(c, std::move(*verifier), std::move(*token)));
    }
    case ChannelKind::discord: {
      auto token = lookup(c, secrets, "bot_token");
      if (!token) return token.error();
      auto verifier = discord::Verifier::create(c.setting("public_key"));
      if (!verifier) return config_error(verifier.error());
      return std::unique_ptr<ChannelBot>(std::make_unique<DiscordBot>(c, std::move(*verifier), std::move(*token)));
    }
    case ChannelKind::whatsapp: {
      auto app_secret = lookup(c, secrets, "app_secret");
      if (!app_secret) return app_secret.error();
      auto verify_token = lookup(c, secrets, "verify_token");
      if (!verify_token) return verify_token.error();
      auto token = lookup(c, secrets, "access_token");
      if (!token) return token.error();
      auto verifier = whatsapp::Verifier::create(*app_secret, *verify_token);
      if (!verifier) return config_error(verifier.error());
      return std::unique_ptr<ChannelBot>(std::make_unique<WhatsAppBot>(c, std::move(*verifier), std::move(*token)));
    }
    case ChannelKind::telegram: {
      auto token = lookup(c, secrets, "bot_token");
      if (!token) return token.error();
      std::optional<telegram::Verifier> verifier;
      if (c.mode != "polling") {
        auto secret_token = lookup(c, secrets, "secret_token");
        if (!secret_token) return secret_token.error();
        auto v = telegram::Verifier::create(*secret_token);
        if (!v) return config_error(v.error());
        verifier.emplace(std::move(*v));
      }
      if (!token->empty() && !telegram::valid_bot_token(token->reveal()))
        return make_error("channel.config", "channels.telegram." + c.name + ".bot_token: vault entry '" +
                                                c.secret("bot_token") + "' is not a bot token (<digits>:<secret>)");
      return std::unique_ptr<ChannelBot>(std::make_unique<TelegramBot>(c, std::move(verifier), std::move(*token)));
    }
  }
  return make_error("channel.bad_value", "unknown channel");
}

Result<std::vector<std::shared_ptr<const ChannelBot>>> make_bots(const config::Config& config,
                                                                 const SecretLookup& secrets) {
  std::vector<std::shared_ptr<const ChannelBot>> out;
  for (const auto& c : config.channels) {
    if (!c.enabled) continue;
    auto bot = make_bot(c, secrets);
    if (!bot) return bot.error();
    out.push_back(std::shared_ptr<const ChannelBot>(std::move(*bot)));
  }
  return out;
}

}  // namespace sb::channels
