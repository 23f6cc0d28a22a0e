#pragma once
// WhatsApp Cloud API text messages and response classification.
#include <string_view>

#include "channels/bot/outbound.hpp"
#include "channels/bot/split.hpp"
#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"

namespace sb::channels::whatsapp {

// 4096 characters; the unit is not documented, UTF-16 units are the safe reading.
inline constexpr SplitRule kSplitRule{4096, LengthUnit::utf16_units};

// POST /{api_version}/{phone_number_id}/messages, Authorization: Bearer <token>, body
// {"messaging_product":"whatsapp","recipient_type":"individual","to","type":"text",
//  "text":{"preview_url":false,"body"},"context":{"message_id"}?}.
// Errors (channel.bad_value): unsafe token, version not like "v21.0", phone_number_id or
// `to` not digits, empty text, text over kSplitRule.
Result<OutboundRequest> build_text_message(const Secret& access_token, std::string_view api_version,
                                           std::string_view phone_number_id, std::string_view to, std::string_view text,
                                           std::string_view reply_to_message_id = {});

// 2xx -> success (delivered_id = messages[0].id). Graph error codes 4, 80007, 130429,
// 131048, 131056 or HTTP 429 -> retry_after (Retry-After, else kRateLimitBackoff).
// Codes 1, 2, 131000, 131016, HTTP 408/5xx -> transient. Everything else (190 expired
// token, 131047 outside the 24 h window, 131026 undeliverable, 100 bad parameter, ...)
// -> permanent, reason "error_<code>" (or "http_<status>" without a Graph error).
DeliveryOutcome classify_response(const HttpReply& reply);

// WhatsApp's throughput and pair limits give no retry time; back off this long.
inline constexpr std::chrono::milliseconds kRateLimitBackoff{60'000};

}  // namespace sb::channels::whatsapp
