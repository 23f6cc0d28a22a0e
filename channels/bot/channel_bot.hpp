#pragma once
// One configured channel bot behind one narrow interface (Envoy-style): the webhook
// listener, the Telegram poller and the outbox sender see a ChannelBot, never a
// platform. Each implementation is a thin adapter over its platform's pure protocol
// code (channels/<platform>/): verification, parsing, request building, classification.
// Built once at start from `[channels.PLATFORM.NAME]` with credentials from the vault.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/bot/outbound.hpp"
#include "channels/bot/split.hpp"
#include "channels/bot/webhook.hpp"
#include "runtime/config/config.hpp"
#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"
#include "runtime/messaging/inbound.hpp"

namespace sb::channels {

class ChannelBot {
 public:
  virtual ~ChannelBot() = default;

  messaging::ChannelKind kind() const { return kind_; }
  const std::string& name() const { return name_; }
  std::string id() const;  // "slack/main": the key in routes, tables, metrics and logs
  // The API the sender talks to ("https://slack.com" unless configured); no trailing '/'.
  const std::string& base_url() const { return base_url_; }
  // How it receives: webhooks, or a connection it opens (Telegram polling, Discord
  // Gateway, Slack Socket Mode), which a connection actor drives.
  config::BotMode mode() const { return mode_; }
  bool polling() const { return mode_ == config::BotMode::polling; }  // Telegram getUpdates
  // Extra CA (PEM) for this bot's API and websocket endpoints; "" = the system store only.
  const std::string& ca_file() const { return ca_file_; }
  bool can_send() const { return can_send_; }  // has the credential outbound requests need

  // accept | respond (handshake) | reject; pure, constant-time compares.
  virtual Verdict verify(const WebhookRequest& request, std::chrono::system_clock::time_point now) const = 0;
  // An accepted delivery -> messages (stamped with this bot's name) and the ack body.
  // Errors: channel.malformed_json / missing_field / wrong_type / bad_value (-> 400).
  virtual Result<messaging::ParsedDelivery> parse(const WebhookRequest& request, std::int64_t received_ms) const = 0;

  virtual SplitRule split_rule() const = 0;
  // One piece (already split to split_rule) to `chat_native_id` (the JID without its
  // prefix). reply_to: Slack thread_ts, Telegram message_id, WhatsApp message id,
  // Discord interaction token (sent as the interaction's follow-up). Errors:
  // channel.bad_value (permanent: the row is marked failed), channel.no_credential.
  // dedupe_key ("" = none) names the outbox row across attempts, where the platform
  // can carry it: Discord's nonce with enforce_nonce, Slack's message metadata.
  virtual Result<OutboundRequest> build_message(std::string_view chat_native_id, std::string_view text,
                                                std::string_view reply_to, std::string_view dedupe_key) const = 0;
  Result<OutboundRequest> build_message(std::string_view chat_native_id, std::string_view text,
                                        std::string_view reply_to) const {
    return build_message(chat_native_id, text, reply_to, {});
  }
  // A message whose attempt a crash cut short (the platform may have taken it): where
  // the platform can tell, the request that finds it by its dedupe key (Slack: the
  // channel's history since `since_ms`); nullopt where it cannot (the default).
  virtual std::optional<Result<OutboundRequest>> build_delivered_lookup(std::string_view chat_native_id,
                                                                        std::string_view reply_to,
                                                                        std::string_view dedupe_key,
                                                                        std::int64_t since_ms) const;
  // From the lookup's answer: the delivered message's id, nullopt when it is surely not
  // there; an error when the answer tells nothing (send then, and count it).
  virtual Result<std::optional<std::string>> find_delivered(const HttpReply& reply, std::string_view dedupe_key) const;
  // True when repeating a request with the same dedupe key cannot post twice (Discord).
  virtual bool repeats_are_deduplicated(std::string_view reply_to) const;
  virtual DeliveryOutcome classify(const HttpReply& reply) const = 0;
  // The platform's typing indicator in `chat_native_id` (routing::typing_support):
  // Telegram sendChatAction, Discord POST /channels/{id}/typing (needs the bot token),
  // WhatsApp "read" + typing_indicator on `inbound_message_id` (needs it). Best effort:
  // the sender sends it once, never retries. Errors: channel.no_typing (Slack),
  // channel.no_credential, channel.bad_value.
  virtual Result<OutboundRequest> build_typing(std::string_view chat_native_id,
                                               std::string_view inbound_message_id) const;

  // Polling bots (Telegram getUpdates). The request long-polls for `timeout_seconds`
  // (0-50) from `offset`; the answer's next_offset is where the next poll starts.
  // Errors for bots that do not poll: channel.not_polling.
  struct PolledBatch {
    messaging::ParsedDelivery delivery;
    std::optional<std::int64_t> next_offset;  // nullopt: no updates
  };
  virtual Result<OutboundRequest> build_poll(std::int64_t offset, int timeout_seconds) const;
  // The credential a bot that connects out opens its connection with: the Discord bot
  // token (Gateway identify), the Slack app-level token (apps.connections.open). Errors:
  // channel.no_connection for bots that do not connect out.
  virtual Result<Secret> connection_credential() const;
  // Errors: the platform refused (telegram.api), malformed answer (channel.*).
  virtual Result<PolledBatch> parse_poll(std::string_view body) const;

 protected:
  ChannelBot(messaging::ChannelKind kind, const config::ChannelBotConfig& config, std::string default_base_url);
  bool can_send_ = false;

 private:
  messaging::ChannelKind kind_;
  std::string name_;
  std::string base_url_;
  config::BotMode mode_;
  std::string ca_file_;
};

// The platform's public API: https://slack.com, https://discord.com,
// https://graph.facebook.com, https://api.telegram.org.
std::string default_base_url(messaging::ChannelKind kind);
Result<messaging::ChannelKind> parse_channel_kind(std::string_view name);  // "slack" ... ; channel.bad_value

// For the platform adapters: "channel.no_credential" (the bot lacks `key` to send).
Error no_credential(const ChannelBot& bot, std::string_view key);
// The vault entry the bot's config names for `role` ("" when none is named): errors
// "channel.secret" naming the bot, the key and the entry.
Result<Secret> lookup_secret(const config::ChannelBotConfig& config, const SecretLookup& secrets,
                             const std::string& role);

}  // namespace sb::channels
