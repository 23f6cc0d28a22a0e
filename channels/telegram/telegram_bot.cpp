#include "channels/telegram/telegram_bot.hpp"

#include "channels/telegram/outbound.hpp"
#include "channels/telegram/parse.hpp"
#include "channels/telegram/verify.hpp"
#include "runtime/messaging/validate.hpp"

namespace sb::channels::telegram {
namespace {

class TelegramBot final : public ChannelBot {
 public:
  TelegramBot(const config::ChannelBotConfig& c, std::optional<Verifier> verifier, Secret bot_token)
      : ChannelBot(messaging::ChannelKind::telegram, c, default_base_url(messaging::ChannelKind::telegram)),
        verifier_(std::move(verifier)),
        token_(std::move(bot_token)) {
    identity_.name = c.name;
    identity_.bot_user_id = bot_id_from_token(token_.reveal()).value_or(0);
    identity_.username = c.setting("username");
    can_send_ = !token_.empty();
  }
  Verdict verify(const WebhookRequest& r, std::chrono::system_clock::time_point) const override {
    // A polling bot has no webhook: nothing may be delivered to it.
    if (!verifier_) return Verdict::reject(404, "polling_bot");
    return verifier_->verify(r);
  }
  Result<messaging::ParsedDelivery> parse(const WebhookRequest& r, std::int64_t) const override {
    return parse_update(identity_, r.body);
  }
  SplitRule split_rule() const override { return kSplitRule; }
  // No dedupe key: neither platform takes one (at most one repeat per crash, documented).
  Result<OutboundRequest> build_message(std::string_view chat, std::string_view text, std::string_view reply_to,
                                        std::string_view) const override {
    if (!can_send_) return no_credential(*this, "bot_token");
    return build_send_message(token_, chat, text, reply_to);
  }
  DeliveryOutcome classify(const HttpReply& reply) const override { return classify_response(reply); }
  Result<OutboundRequest> build_typing(std::string_view chat, std::string_view) const override {
    if (!can_send_) return no_credential(*this, "bot_token");
    if (!messaging::signed_digits(chat))
      return make_error("channel.bad_value", "Telegram chat id must be a 64-bit integer");
    OutboundRequest r;
    r.method = "POST";
    r.path = "/bot" + token_.reveal() + "/sendChatAction";
    r.log_path = "/bot" + std::string(Secret::redacted) + "/sendChatAction";
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"chat_id":)" + std::string(chat) + R"(,"action":"typing"})";
    return r;
  }

  Result<OutboundRequest> build_poll(std::int64_t offset, int timeout_seconds) const override {
    if (!polling()) return ChannelBot::build_poll(offset, timeout_seconds);
    return build_get_updates(token_, offset, timeout_seconds);
  }
  Result<PolledBatch> parse_poll(std::string_view body) const override {
    auto polled = parse_get_updates(identity_, body);
    if (!polled) return polled.error();
    return PolledBatch{std::move(polled->delivery), polled->next_offset};
  }

 private:
  std::optional<Verifier> verifier_;
  Secret token_;
  BotIdentity identity_;
};

}  // namespace

Result<std::unique_ptr<ChannelBot>> make_bot(const config::ChannelBotConfig& c, const SecretLookup& secrets) {
  auto config_error = [&](const Error& e) {
    return make_error("channel.config", "channels." + c.platform + "." + c.name + ": " + e.message);
  };
  auto token = lookup_secret(c, secrets, "bot_token");
  if (!token) return token.error();
  std::optional<Verifier> verifier;
  if (c.mode != config::BotMode::polling) {
    auto secret_token = lookup_secret(c, secrets, "secret_token");
    if (!secret_token) return secret_token.error();
    auto v = Verifier::create(*secret_token);
    if (!v) return config_error(v.error());
    verifier.emplace(std::move(*v));
  }
  if (!token->empty() && !valid_bot_token(token->reveal()))
    return make_error("channel.config", "channels.telegram." + c.name + ".bot_token: vault entry '" +
                                            c.secret("bot_token") + "' is not a bot token (<digits>:<secret>)");
  return std::unique_ptr<ChannelBot>(std::make_unique<TelegramBot>(c, std::move(verifier), std::move(*token)));
}

}  // namespace sb::channels::telegram
