#pragma once
// The outbox table's statements (schema: storage/migrations.cpp v2). Rows are one piece
// each, already split to the platform's limit; state: pending | sent | failed. Writes
// are WriteOps for the storage writer; reads are SQL for a read connection. Pure.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"
#include "storage/sql_value.hpp"

namespace sb::storage {

struct OutboxRow {
  int64_t id = 0;
  std::string channel;  // "slack"
  std::string bot;      // bot name ("main"); the bot id is channel + "/" + bot
  std::string chat_jid;
  std::string text;
  std::string reply_to;  // "" = none (stored as NULL); Discord: an interaction token
  std::string state;
  int64_t attempts = 0;
  int64_t next_attempt_at = 0;  // ms since the epoch
  std::string last_error;
  std::string delivered_id;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  // An attempt began (committed before its request) and no outcome was recorded: the
  // platform may have the message already (a crash between its answer and our record).
  bool attempt_in_flight = false;
};

// One INSERT for every piece of a message (one statement: all or nothing), RETURNING the
// new rows' ids (inserted_ids). idempotency_key "" = none; else piece i is stored with
// key "{key}:{i}" and a piece whose key exists is skipped (ON CONFLICT DO NOTHING):
// changes < pieces means the message was enqueued before (read its ids with
// select_by_key).
storage::WriteOp insert_pieces(std::string_view channel, std::string_view bot, std::string_view chat_jid,
                               const std::vector<std::string>& pieces, std::string_view reply_to, int64_t now_ms,
                               std::string_view idempotency_key = {});
// "{key}:{piece}"
std::string piece_key(std::string_view idempotency_key, size_t piece);
// The ids of the rows insert_pieces stored, in piece order, from its outcome. Not
// derived from a "last rowid": on PostgreSQL concurrent writers interleave ids.
std::vector<int64_t> inserted_ids(const WriteOutcome& outcome);

storage::WriteOp mark_sent(int64_t id, int64_t attempts, std::string_view delivered_id, int64_t now_ms);
// keep_in_flight: the failed attempt may have been delivered all the same (no answer, 5xx).
storage::WriteOp mark_retry(int64_t id, int64_t attempts, int64_t next_attempt_at_ms, std::string_view error,
                            int64_t now_ms, bool keep_in_flight = false);
storage::WriteOp mark_failed(int64_t id, int64_t attempts, std::string_view error, int64_t now_ms);
// Committed before the rows' requests go out (the three marks above clear it again).
storage::WriteOp mark_attempts_started(const std::vector<int64_t>& ids, int64_t now_ms);
// For rows marked and then not attempted after all (their chat was held).
storage::WriteOp clear_attempts_started(const std::vector<int64_t>& ids);

// The rows one bot may send now, in sending order: pending, due (?4 = now ms), and not
// behind an earlier pending row of the same chat that is not due yet (chat order), so
// that rows waiting for a retry never hide due rows of other chats. ?1 channel, ?2 bot,
// ?3 limit. Columns: id, chat_jid, text, reply_to, attempts, next_attempt_at,
// created_at, attempt in flight (0/1: a CASE, because a bare IS NOT NULL is a boolean
// column on PostgreSQL, not an integer).
inline constexpr const char* kSelectPending =
    "SELECT o.id, o.chat_jid, o.text, COALESCE(o.reply_to, ''), o.attempts, o.next_attempt_at, o.created_at, "
    "CASE WHEN o.attempt_started_at IS NULL THEN 0 ELSE 1 END FROM outbox o "
    "WHERE o.channel = ?1 AND o.bot = ?2 AND o.state = 'pending' AND o.next_attempt_at <= ?4 "
    "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.channel = o.channel AND e.bot = o.bot "
    "AND e.chat_jid = o.chat_jid AND e.state = 'pending' AND e.id < o.id AND e.next_attempt_at > ?4) "
    "ORDER BY o.id LIMIT ?3";
// When the next pending row of one bot falls due (?3 = now ms): one column, NULL if none.
inline constexpr const char* kSelectNextDue =
    "SELECT min(next_attempt_at) FROM outbox WHERE channel = ?1 AND bot = ?2 AND state = 'pending' "
    "AND next_attempt_at > ?3";

// GET /api/v1/container/outbox?state=&bot=&limit=
struct ListFilter {
  std::string state;    // "" = any; else pending | sent | failed
  std::string channel;  // "" = any bot; from bot = "slack/main"
  std::string bot;
  int64_t limit = 100;  // 1 ... 1000
};
inline constexpr int64_t kMaxListLimit = 1000;
// Errors "outbox.bad_state", "outbox.bad_bot", "outbox.bad_limit" (the message names
// the parameter and what is allowed).
Result<ListFilter> parse_list_filter(std::string_view state, std::string_view bot, std::string_view limit);

struct Query {
  std::string sql;
  std::vector<storage::SqlParam> params;
};
// Newest first. Columns in OutboxRow order.
Query list_query(const ListFilter& filter);
// The ids of the rows of a message enqueued with `idempotency_key` (insert_pieces), in
// piece order. Column: id.
Query select_by_key(std::string_view idempotency_key, size_t pieces);

}  // namespace sb::storage
