#pragma once
// The body of POST /api/v1/container/outbox, decoded without I/O: the admin route
// (actors/app/admin/outbox_routes, which turns it into the outbox's message) and the fuzz
// target call the same function.
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"

namespace sb::channels::delivery {

struct EnqueueRequest {
  std::string bot_id;    // "slack/main"
  std::string chat_jid;  // "slack:C123"
  std::string text;
  std::string reply_to;  // "" = none
};

// {"bot","chatJid","text": non-empty strings, "replyTo"?: string or null}. Errors
// "invalid_json" and "invalid_field" ("chatJid: required").
Result<EnqueueRequest> parse_enqueue_request(std::string_view body);

}  // namespace sb::channels::delivery
