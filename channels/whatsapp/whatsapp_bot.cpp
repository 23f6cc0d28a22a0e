#include "channels/whatsapp/whatsapp_bot.hpp"

#include "channels/whatsapp/outbound.hpp"
#include "channels/whatsapp/parse.hpp"
#include "channels/whatsapp/verify.hpp"
#include "runtime/messaging/validate.hpp"

namespace sb::channels::whatsapp {
namespace {

class WhatsAppBot final : public ChannelBot {
 public:
  WhatsAppBot(const config::ChannelBotConfig& c, Verifier verifier, Secret access_token)
      : ChannelBot(messaging::ChannelKind::whatsapp, c, default_base_url(messaging::ChannelKind::whatsapp)),
        verifier_(std::move(verifier)),
        token_(std::move(access_token)),
        identity_{c.name, c.setting("phone_number_id")},
        api_version_(c.setting("api_version").empty() ? "v21.0" : c.setting("api_version")) {
    can_send_ = !token_.empty() && !identity_.phone_number_id.empty();
  }
  Verdict verify(const WebhookRequest& r, std::chrono::system_clock::time_point) const override {
    return verifier_.verify(r);
  }
  Result<messaging::ParsedDelivery> parse(const WebhookRequest& r, std::int64_t) const override {
    return parse_delivery(identity_, r.body);
  }
  SplitRule split_rule() const override { return kSplitRule; }
  // No dedupe key: neither platform takes one (at most one repeat per crash, documented).
  Result<OutboundRequest> build_message(std::string_view chat, std::string_view text, std::string_view reply_to,
                                        std::string_view) const override {
    if (!can_send_) return no_credential(*this, token_.empty() ? "access_token" : "phone_number_id");
    return build_text_message(token_, api_version_, identity_.phone_number_id, chat, text, reply_to);
  }
  DeliveryOutcome classify(const HttpReply& reply) const override { return classify_response(reply); }
  Result<OutboundRequest> build_typing(std::string_view, std::string_view message_id) const override {
    if (!can_send_) return no_credential(*this, token_.empty() ? "access_token" : "phone_number_id");
    if (!messaging::plain_id(message_id))
      return make_error("channel.bad_value", "WhatsApp typing needs the inbound message id");
    OutboundRequest r;
    r.method = "POST";
    r.path = r.log_path = "/" + api_version_ + "/" + identity_.phone_number_id + "/messages";
    r.headers = {{"Authorization", "Bearer " + token_.reveal()}, {"Content-Type", "application/json"}};
    r.body = R"({"messaging_product":"whatsapp","status":"read","message_id":")" + std::string(message_id) +
             R"(","typing_indicator":{"type":"text"}})";
    return r;
  }

 private:
  Verifier verifier_;
  Secret token_;
  BotIdentity identity_;
  std::string api_version_;
};

}  // namespace

Result<std::unique_ptr<ChannelBot>> make_bot(const config::ChannelBotConfig& c, const SecretLookup& secrets) {
  auto config_error = [&](const Error& e) {
    return make_error("channel.config", "channels." + c.platform + "." + c.name + ": " + e.message);
  };
  auto app_secret = lookup_secret(c, secrets, "app_secret");
  if (!app_secret) return app_secret.error();
  auto verify_token = lookup_secret(c, secrets, "verify_token");
  if (!verify_token) return verify_token.error();
  auto token = lookup_secret(c, secrets, "access_token");
  if (!token) return token.error();
  auto verifier = Verifier::create(*app_secret, *verify_token);
  if (!verifier) return config_error(verifier.error());
  return std::unique_ptr<ChannelBot>(std::make_unique<WhatsAppBot>(c, std::move(*verifier), std::move(*token)));
}

}  // namespace sb::channels::whatsapp
