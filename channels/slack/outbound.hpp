#pragma once
// Slack Web API chat.postMessage: request building and response classification.
#include <string>
#include <string_view>

#include "channels/bot/outbound.hpp"
#include "channels/bot/split.hpp"
#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"

namespace sb::channels::slack {

// Slack truncates text past 40,000 characters. Its unit is not documented; UTF-16 units
// are never fewer than code points, so counting them is the safe reading.
inline constexpr SplitRule kSplitRule{40000, LengthUnit::utf16_units};

// POST /api/chat.postMessage, Authorization: Bearer <bot token>, JSON
// {"channel","text","thread_ts"?}. The text is sent as plain text: &, < and > are
// escaped, so a reply cannot ping <!channel> or forge links. Errors (channel.bad_value):
// empty or unsafe token, channel not an id, malformed thread_ts, empty text, text over
// kSplitRule (split first).
//
// dedupe_key (the outbox row, "" = none) rides along as message metadata
// {"event_type":"squadbox_outbox","event_payload":{"outbox_id":KEY}}, so that a message
// whose post a crash may have cut short can be found again (find_posted).
Result<OutboundRequest> build_post_message(const Secret& bot_token, std::string_view channel, std::string_view text,
                                           std::string_view thread_ts = {}, std::string_view dedupe_key = {});

inline constexpr std::string_view kMetadataEventType = "squadbox_outbox";

// The lookup of a message posted with `dedupe_key`: GET /api/conversations.history (or
// conversations.replies in a thread) of `channel` since `oldest_ms`, with metadata.
Result<OutboundRequest> build_posted_lookup(const Secret& bot_token, std::string_view channel,
                                            std::string_view thread_ts, int64_t oldest_ms);
// From the lookup's answer: the ts of the message carrying `dedupe_key` in its metadata,
// nullopt when the answer lists none; an error when the answer says nothing (not ok,
// missing scope, malformed), and the caller must assume nothing.
Result<std::optional<std::string>> find_posted(const HttpReply& reply, std::string_view dedupe_key);

// 200 {"ok":true,"ts"} -> success (delivered_id = ts). 429 or error "ratelimited" ->
// retry_after (Retry-After seconds). 5xx and errors internal_error, fatal_error,
// service_unavailable, request_timeout -> transient. Any other {"ok":false,"error"}
// (invalid_auth, not_authed, account_inactive, token_revoked, channel_not_found,
// not_in_channel, is_archived, msg_too_long, ...) and other 4xx -> permanent, reason =
// Slack's error code. A 200 that is not Slack JSON -> transient "bad_response".
DeliveryOutcome classify_response(const HttpReply& reply);

std::string escape_text(std::string_view text);

}  // namespace sb::channels::slack
