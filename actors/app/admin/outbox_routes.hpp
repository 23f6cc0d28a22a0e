#pragma once
// Admin routes of the outbox (bearer-protected, added through AdminApiOptions::extensions):
//   POST /api/v1/container/outbox {"bot":"slack/main","chatJid":"slack:C1","text":"...","replyTo":"..."}
//        -> 202 {"ids":[...]} once the rows are durable; 400 invalid_json / invalid_field
//        (the message names the field), 404 unknown_bot, 503 unavailable.
//   GET  /api/v1/container/outbox?state=&bot=&limit= -> 200 {"messages":[...]} newest first.
//        The reply_to of Discord rows is an interaction token and is never shown.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "actors/protocol.hpp"
#include "runtime/core/result.hpp"
#include "runtime/http/router.hpp"
#include "storage/outbox_store.hpp"

namespace sb::app::admin {

inline constexpr const char* kOutboxPath = "/api/v1/container/outbox";

// Errors "invalid_json" and "invalid_field" ("chatJid: required").
Result<actors::outbound_message> parse_enqueue_body(std::string_view body);
// {"messages":[{"id":..,"bot":"slack/main","chatJid":..,"text":..,"replyTo":..|null,
// "state":..,"attempts":..,"nextAttemptAt":..,"lastError":..|null,"deliveredId":..|null,
// "createdAt":..,"updatedAt":..}]}; replyTo is null for Discord rows.
std::string render_rows(const std::vector<storage::OutboxRow>& rows);
// enqueue_result::error "outbox.unknown_bot: ..." -> 404 unknown_bot, other refusals
// -> 400 invalid_field naming the field, outbox.storage -> 503 unavailable.
http::Response enqueue_error_response(const Error& error);

void add_outbox_routes(http::Router& api, caf::actor_system& system, std::string db_path,
                       std::chrono::milliseconds actor_timeout);

}  // namespace sb::app::admin
