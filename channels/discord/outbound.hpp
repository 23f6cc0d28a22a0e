#pragma once
// Discord REST: channel messages (bot token) and interaction follow-ups (the
// interaction's own token, no bot auth), and response classification.
#include <string_view>

#include "channels/bot/outbound.hpp"
#include "channels/bot/split.hpp"
#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"

namespace sb::channels::discord {

// 2000 characters; Discord's API (Python) counts code points.
inline constexpr SplitRule kSplitRule{2000, LengthUnit::code_points};

// POST /api/v10/channels/{channel_id}/messages, Authorization: Bot <token>.
// Body {"content","allowed_mentions":{"parse":[]}}: an agent's reply never pings
// @everyone, roles or users. Errors (channel.bad_value): unsafe token, channel id not a
// snowflake, empty text, text over kSplitRule.
// nonce ("" = none; at most 25 characters) goes with enforce_nonce: a repeat of the
// request within Discord's window returns the first message instead of posting again.
Result<OutboundRequest> build_channel_message(const Secret& bot_token, std::string_view channel_id,
                                              std::string_view content, std::string_view nonce = {});

// POST /api/v10/webhooks/{application_id}/{interaction token}: the follow-up to a
// deferred ({"type":5}) interaction, valid 15 minutes. The token is in the path, so
// log_path redacts it.
Result<OutboundRequest> build_followup(std::string_view application_id, const Secret& interaction_token,
                                       std::string_view content);

// 2xx -> success (delivered_id = message id), with bucket_pause from
// X-RateLimit-Reset-After when X-RateLimit-Remaining is 0. 429 -> retry_after from the
// body's retry_after (float seconds), else Retry-After, else 1 s; reason
// "global_rate_limited" when the body or X-RateLimit-Global says global. 408/5xx ->
// transient. Other 4xx -> permanent, detail = Discord's code and message.
DeliveryOutcome classify_response(const HttpReply& reply);

}  // namespace sb::channels::discord
