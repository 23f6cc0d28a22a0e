#include "channels/discord/discord_bot.hpp"

#include <optional>

#include "channels/discord/outbound.hpp"
#include "channels/discord/parse.hpp"
#include "channels/discord/verify.hpp"
#include "runtime/messaging/validate.hpp"

namespace sb::channels::discord {
namespace {

class DiscordBot final : public ChannelBot {
 public:
  DiscordBot(const config::ChannelBotConfig& c, std::optional<Verifier> verifier, Secret bot_token)
      : ChannelBot(messaging::ChannelKind::discord, c, default_base_url(messaging::ChannelKind::discord)),
        verifier_(std::move(verifier)),
        token_(std::move(bot_token)),
        identity_{c.name, c.setting("application_id")} {
    // Follow-ups need only the application id; channel messages need the bot token.
    can_send_ = !token_.empty() || !identity_.application_id.empty();
  }
  Verdict verify(const WebhookRequest& r, std::chrono::system_clock::time_point) const override {
    // A Gateway bot without a public_key takes no interactions: nothing may be delivered.
    if (!verifier_) return Verdict::reject(404, "no_interactions_endpoint");
    return verifier_->verify(r);
  }
  Result<messaging::ParsedDelivery> parse(const WebhookRequest& r, std::int64_t) const override {
    return parse_interaction(identity_, r.body);
  }
  SplitRule split_rule() const override { return kSplitRule; }
  Result<OutboundRequest> build_message(std::string_view chat, std::string_view text, std::string_view reply_to,
                                        std::string_view dedupe_key) const override {
    if (is_followup(reply_to)) return build_followup(identity_.application_id, Secret(std::string(reply_to)), text);
    if (token_.empty()) return no_credential(*this, "bot_token");
    return build_channel_message(token_, chat, text, dedupe_key);
  }
  // Channel messages carry the nonce; interaction follow-ups cannot.
  bool repeats_are_deduplicated(std::string_view reply_to) const override { return !is_followup(reply_to); }
  bool is_followup(std::string_view reply_to) const { return !reply_to.empty() && !identity_.application_id.empty(); }
  DeliveryOutcome classify(const HttpReply& reply) const override { return classify_response(reply); }
  Result<Secret> connection_credential() const override {
    if (mode() != config::BotMode::gateway) return ChannelBot::connection_credential();
    return token_;
  }
  Result<OutboundRequest> build_typing(std::string_view chat, std::string_view) const override {
    if (token_.empty()) return no_credential(*this, "bot_token");
    if (!messaging::snowflake(chat)) return make_error("channel.bad_value", "Discord channel id must be a snowflake");
    OutboundRequest r;
    r.method = "POST";
    r.path = r.log_path = "/api/v10/channels/" + std::string(chat) + "/typing";
    r.headers = {{"Authorization", "Bot " + token_.reveal()}};
    return r;
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
  // A Gateway bot may also take interactions (slash commands) when it has a public key.
  std::optional<Verifier> verifier;
  if (c.mode != config::BotMode::gateway || !c.setting("public_key").empty()) {
    auto v = Verifier::create(c.setting("public_key"));
    if (!v) return config_error(v.error());
    verifier = std::move(*v);
  }
  return std::unique_ptr<ChannelBot>(std::make_unique<DiscordBot>(c, std::move(verifier), std::move(*token)));
}

}  // namespace sb::channels::discord
