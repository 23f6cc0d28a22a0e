#include "channels/slack/slack_bot.hpp"

#include "channels/slack/outbound.hpp"
#include "channels/slack/parse.hpp"
#include "channels/slack/verify.hpp"

namespace sb::channels::slack {
namespace {

class SlackBot final : public ChannelBot {
 public:
  SlackBot(const config::ChannelBotConfig& c, std::optional<Verifier> verifier, Secret bot_token, Secret app_token)
      : ChannelBot(messaging::ChannelKind::slack, c, default_base_url(messaging::ChannelKind::slack)),
        verifier_(std::move(verifier)),
        token_(std::move(bot_token)),
        app_token_(std::move(app_token)),
        identity_{c.name, c.setting("bot_user_id")} {
    can_send_ = !token_.empty();
  }
  Verdict verify(const WebhookRequest& r, std::chrono::system_clock::time_point now) const override {
    // A Socket Mode bot without a signing secret has no webhook: nothing may be delivered.
    if (!verifier_) return Verdict::reject(404, "socket_mode_bot");
    return verifier_->verify(r, now);
  }
  Result<messaging::ParsedDelivery> parse(const WebhookRequest& r, std::int64_t received_ms) const override {
    // Slash commands arrive form-encoded, Events API deliveries as JSON.
    auto type = find_header(r.headers, "content-type");
    if (type && type->find("application/x-www-form-urlencoded") != std::string_view::npos)
      return parse_slash_command(identity_, r.body, received_ms);
    return parse_event(identity_, r.body);
  }
  SplitRule split_rule() const override { return kSplitRule; }
  Result<OutboundRequest> build_message(std::string_view chat, std::string_view text, std::string_view reply_to,
                                        std::string_view dedupe_key) const override {
    if (!can_send_) return no_credential(*this, "bot_token");
    return build_post_message(token_, chat, text, reply_to, dedupe_key);
  }
  std::optional<Result<OutboundRequest>> build_delivered_lookup(std::string_view chat, std::string_view reply_to,
                                                                std::string_view,
                                                                std::int64_t since_ms) const override {
    if (!can_send_) return Result<OutboundRequest>(no_credential(*this, "bot_token"));
    return build_posted_lookup(token_, chat, reply_to, since_ms);
  }
  Result<std::optional<std::string>> find_delivered(const HttpReply& reply,
                                                    std::string_view dedupe_key) const override {
    return find_posted(reply, dedupe_key);
  }
  DeliveryOutcome classify(const HttpReply& reply) const override { return classify_response(reply); }
  Result<Secret> connection_credential() const override {
    if (mode() != config::BotMode::socket) return ChannelBot::connection_credential();
    return app_token_;
  }

 private:
  std::optional<Verifier> verifier_;
  Secret token_;
  Secret app_token_;  // Socket Mode: xapp-, connections:write
  BotIdentity identity_;
};

}  // namespace

Result<std::unique_ptr<ChannelBot>> make_bot(const config::ChannelBotConfig& c, const SecretLookup& secrets) {
  auto config_error = [&](const Error& e) {
    return make_error("channel.config", "channels." + c.platform + "." + c.name + ": " + e.message);
  };
  auto signing = lookup_secret(c, secrets, "signing_secret");
  if (!signing) return signing.error();
  auto token = lookup_secret(c, secrets, "bot_token");
  if (!token) return token.error();
  auto app_token = lookup_secret(c, secrets, "app_token");
  if (!app_token) return app_token.error();
  // A Socket Mode bot may also take webhooks when it has a signing secret.
  std::optional<Verifier> verifier;
  if (c.mode != config::BotMode::socket || !c.secret("signing_secret").empty()) {
    auto v = Verifier::create(*signing);
    if (!v) return config_error(v.error());
    verifier = std::move(*v);
  }
  return std::unique_ptr<ChannelBot>(
      std::make_unique<SlackBot>(c, std::move(verifier), std::move(*token), std::move(*app_token)));
}

}  // namespace sb::channels::slack
