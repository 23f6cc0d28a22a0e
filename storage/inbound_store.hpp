#pragma once
// inbound_messages: the durable, deduplicated intake of platform messages and how each
// row ends. Writes are pure WriteOps for the storage writer (their SQL text is fixed,
// so the writer's statement cache reuses one prepared statement per kind of op); reads
// take the caller's own read connection.
//
// Row life: 'received' (insert_inbound) -> 'done' | 'dropped' (mark_inbound by the
// namespace that handled it, or drop_received_inbound by the router).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"
#include "runtime/messaging/stored_message.hpp"
#include "storage/sql_value.hpp"
#include "storage/sqlite.hpp"

namespace sb::storage {

// INSERT of one message in state 'received', RETURNING its id. A message already stored
// (same channel, bot, platform_message_id) changes nothing: the outcome is ok with
// changes == 0 and no id (a duplicate).
storage::WriteOp insert_inbound(const messaging::StoredMessage& message, int64_t received_ms);
// The id insert_inbound's outcome gave a newly stored message; nullopt for a duplicate
// or a failed write.
std::optional<int64_t> stored_inbound_id(const WriteOutcome& outcome);

// The router's drop: a row still 'received' becomes 'dropped' with `reason`; a row that
// already ended is left alone.
storage::WriteOp drop_received_inbound(int64_t id, std::string_view reason);

// The turn's inbound rows end: state 'done' (or 'dropped' with `drop_reason`), with
// the namespace that handled them.
storage::WriteOp mark_inbound(const std::vector<int64_t>& ids, std::string_view namespace_id,
                              std::string_view drop_reason = {});

// The turn of these rows starts: its last id is stored on them (rows still 'received'),
// before the agent sees it, so a replay re-forms the same turn.
storage::WriteOp mark_turn_started(const std::vector<int64_t>& ids, int64_t turn_last_id);

// Up to `limit` rows still 'received' with id > after_id, in id order (the router's
// replay after a restart reads them a chunk at a time). StoredMessage::timestamp_ms is
// the platform's sent_at, turn_last_id the stored boundary (0 = none).
Result<std::vector<messaging::StoredMessage>> read_received_inbound(storage::Database& db, int64_t after_id,
                                                                    int64_t limit);

// The id of the stored message (channel, bot, platform_message_id); nullopt if none.
Result<std::optional<int64_t>> find_inbound_id(storage::Database& db, std::string_view channel, std::string_view bot,
                                               std::string_view platform_message_id);

// "slack/main": the bot of the chat's newest inbound message; "" if none.
Result<std::string> read_latest_bot(storage::Database& db, const std::string& chat_jid);

}  // namespace sb::storage
