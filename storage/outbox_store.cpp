#include "storage/outbox_store.hpp"

#include <algorithm>
#include <charconv>

#include "storage/sql_text.hpp"

namespace sb::storage {

using storage::SqlParam;
using storage::WriteOp;

namespace {

SqlParam text(std::string_view s) {
  return SqlParam::of(std::string(s));
}
SqlParam text_or_null(std::string_view s) {
  return s.empty() ? SqlParam::null() : text(s);
}

bool is_bot_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

}  // namespace

WriteOp insert_pieces(std::string_view channel, std::string_view bot, std::string_view chat_jid,
                      const std::vector<std::string>& pieces, std::string_view reply_to, int64_t now_ms,
                      std::string_view idempotency_key) {
  WriteOp op;
  const bool keyed = !idempotency_key.empty();
  op.sql = keyed ? "INSERT INTO outbox(channel, bot, chat_jid, text, reply_to, state, attempts, next_attempt_at, "
                   "created_at, updated_at, idempotency_key) VALUES "
                 : "INSERT INTO outbox(channel, bot, chat_jid, text, reply_to, state, attempts, next_attempt_at, "
                   "created_at, updated_at) VALUES ";
  const size_t per_row = keyed ? 9 : 8;
  for (size_t i = 0; i < pieces.size(); ++i) {
    // (?a,?b,?c,?d,?e,'pending',0,?f,?g,?h[,?i])
    const int first = static_cast<int>(i * per_row) + 1;
    op.sql += i == 0 ? "(" : ",(";
    op.sql += numbered_placeholders(first, 5) + ",'pending',0," + numbered_placeholders(first + 5, per_row - 5) + ")";
    op.params.insert(op.params.end(),
                     {text(channel), text(bot), text(chat_jid), text(pieces[i]), text_or_null(reply_to),
                      SqlParam::of(now_ms), SqlParam::of(now_ms), SqlParam::of(now_ms)});
    if (keyed) op.params.push_back(text(piece_key(idempotency_key, i)));
  }
  if (keyed) op.sql += " ON CONFLICT DO NOTHING";
  op.sql += " RETURNING id";
  return op;
}

std::string piece_key(std::string_view idempotency_key, size_t piece) {
  return std::string(idempotency_key) + ":" + std::to_string(piece);
}

Query select_by_key(std::string_view idempotency_key, size_t pieces) {
  Query q;
  q.sql = "SELECT id FROM outbox WHERE idempotency_key IN (" + numbered_placeholders(1, pieces) + ") ORDER BY id";
  for (size_t i = 0; i < pieces; ++i) q.params.push_back(text(piece_key(idempotency_key, i)));
  return q;
}

std::vector<int64_t> inserted_ids(const WriteOutcome& outcome) {
  // One statement numbers its rows in VALUES order (SQLite's rowid and PostgreSQL's
  // identity both count up per row), but RETURNING promises no row order: sort.
  std::vector<int64_t> ids = outcome.returned_ids;
  std::sort(ids.begin(), ids.end());
  return ids;
}

WriteOp mark_sent(int64_t id, int64_t attempts, std::string_view delivered_id, int64_t now_ms) {
  return {
      "UPDATE outbox SET state = 'sent', attempts = ?1, delivered_id = ?2, last_error = NULL, updated_at = ?3, "
      "attempt_started_at = NULL "
      "WHERE id = ?4",
      {SqlParam::of(attempts), text_or_null(delivered_id), SqlParam::of(now_ms), SqlParam::of(id)}};
}

WriteOp mark_retry(int64_t id, int64_t attempts, int64_t next_attempt_at_ms, std::string_view error, int64_t now_ms,
                   bool keep_in_flight) {
  return {
      std::string("UPDATE outbox SET attempts = ?1, next_attempt_at = ?2, last_error = ?3, updated_at = ?4") +
          (keep_in_flight ? "" : ", attempt_started_at = NULL") + " WHERE id = ?5 AND state = 'pending'",
      {SqlParam::of(attempts), SqlParam::of(next_attempt_at_ms), text(error), SqlParam::of(now_ms), SqlParam::of(id)}};
}

WriteOp mark_failed(int64_t id, int64_t attempts, std::string_view error, int64_t now_ms) {
  return {
      "UPDATE outbox SET state = 'failed', attempts = ?1, last_error = ?2, updated_at = ?3, attempt_started_at = NULL "
      "WHERE id = ?4",
      {SqlParam::of(attempts), text(error), SqlParam::of(now_ms), SqlParam::of(id)}};
}

WriteOp mark_attempts_started(const std::vector<int64_t>& ids, int64_t now_ms) {
  WriteOp op{"UPDATE outbox SET attempt_started_at = ?1 WHERE state = 'pending' AND id IN (" +
                 numbered_placeholders(2, ids.size()) + ")",
             {SqlParam::of(now_ms)}};
  for (int64_t id : ids) op.params.push_back(SqlParam::of(id));
  return op;
}

WriteOp clear_attempts_started(const std::vector<int64_t>& ids) {
  WriteOp op{"UPDATE outbox SET attempt_started_at = NULL WHERE id IN (" + numbered_placeholders(1, ids.size()) + ")",
             {}};
  for (int64_t id : ids) op.params.push_back(SqlParam::of(id));
  return op;
}

Result<ListFilter> parse_list_filter(std::string_view state, std::string_view bot, std::string_view limit) {
  ListFilter f;
  if (!state.empty() && state != "pending" && state != "sent" && state != "failed") {
    return make_error("outbox.bad_state", "state must be pending, sent or failed");
  }
  f.state = std::string(state);
  if (!bot.empty()) {
    const size_t slash = bot.find('/');
    const std::string_view channel = bot.substr(0, slash);
    const std::string_view name = slash == std::string_view::npos ? std::string_view{} : bot.substr(slash + 1);
    const bool known = channel == "slack" || channel == "discord" || channel == "whatsapp" || channel == "telegram";
    bool name_ok = !name.empty() && name.size() <= 64;
    for (const char c : name) name_ok = name_ok && is_bot_name_char(c);
    if (!known || !name_ok) return make_error("outbox.bad_bot", "bot must look like slack/main");
    f.channel = std::string(channel);
    f.bot = std::string(name);
  }
  if (!limit.empty()) {
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(limit.data(), limit.data() + limit.size(), value);
    if (ec != std::errc{} || end != limit.data() + limit.size() || value < 1 || value > kMaxListLimit) {
      return make_error("outbox.bad_limit", "limit must be an integer from 1 to " + std::to_string(kMaxListLimit));
    }
    f.limit = value;
  }
  return f;
}

Query list_query(const ListFilter& f) {
  Query q;
  q.sql =
      "SELECT id, channel, bot, chat_jid, text, COALESCE(reply_to, ''), state, attempts, next_attempt_at, "
      "COALESCE(last_error, ''), COALESCE(delivered_id, ''), created_at, updated_at FROM outbox";
  std::string where;
  auto add = [&](const char* column, std::string value) {
    q.params.push_back(SqlParam::of(std::move(value)));
    where += where.empty() ? " WHERE " : " AND ";
    where += std::string(column) + " = ?" + std::to_string(q.params.size());
  };
  if (!f.state.empty()) add("state", f.state);
  if (!f.channel.empty()) {
    add("channel", f.channel);
    add("bot", f.bot);
  }
  q.params.push_back(SqlParam::of(f.limit));
  q.sql += where + " ORDER BY id DESC LIMIT ?" + std::to_string(q.params.size());
  return q;
}

}  // namespace sb::storage
