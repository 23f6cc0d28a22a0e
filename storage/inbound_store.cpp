#include "storage/inbound_store.hpp"

#include "storage/sql_text.hpp"

namespace sb::storage {

using storage::SqlParam;

storage::WriteOp insert_inbound(const messaging::StoredMessage& m, int64_t received_ms) {
  storage::WriteOp op;
  op.sql =
      "INSERT INTO inbound_messages(channel, bot, platform_message_id, chat_jid, sender, sender_name, text, "
      "reply_ref, message_ref, sent_at, is_group, mentions_bot, received_at) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
      "ON CONFLICT(channel, bot, platform_message_id) DO NOTHING RETURNING id";
  op.params = {SqlParam::of(m.channel),
               SqlParam::of(m.bot),
               SqlParam::of(m.platform_message_id),
               SqlParam::of(m.chat_jid),
               SqlParam::of(m.sender_id),
               SqlParam::of(m.sender_name),
               SqlParam::of(m.text),
               SqlParam::of(m.reply_ref),
               SqlParam::of(m.message_ref),
               SqlParam::of(m.timestamp_ms),
               SqlParam::of(static_cast<int64_t>(m.is_group ? 1 : 0)),
               SqlParam::of(static_cast<int64_t>(m.mentions_bot ? 1 : 0)),
               SqlParam::of(received_ms)};
  return op;
}

std::optional<int64_t> stored_inbound_id(const WriteOutcome& outcome) {
  // RETURNING gives a row only for a message this op stored; a duplicate returns none.
  if (!outcome.ok || outcome.returned_ids.size() != 1) return std::nullopt;
  return outcome.returned_ids.front();
}

storage::WriteOp drop_received_inbound(int64_t id, std::string_view reason) {
  storage::WriteOp op;
  op.sql = "UPDATE inbound_messages SET state = 'dropped', drop_reason = ?1 WHERE id = ?2 AND state = 'received'";
  op.params = {SqlParam::of(std::string(reason)), SqlParam::of(id)};
  return op;
}

storage::WriteOp mark_inbound(const std::vector<int64_t>& ids, std::string_view namespace_id,
                              std::string_view drop_reason) {
  storage::WriteOp op;
  const bool dropped = !drop_reason.empty();
  if (dropped) {
    op.sql = "UPDATE inbound_messages SET state = 'dropped', drop_reason = ?1, namespace_id = ?2 WHERE id IN (";
    op.params.push_back(SqlParam::of(std::string(drop_reason)));
  } else {
    op.sql = "UPDATE inbound_messages SET state = 'done', namespace_id = ?1 WHERE id IN (";
  }
  op.params.push_back(SqlParam::of(std::string(namespace_id)));
  op.sql += numbered_placeholders(static_cast<int>(op.params.size()) + 1, ids.size()) + ")";
  for (int64_t id : ids) op.params.push_back(SqlParam::of(id));
  return op;
}

storage::WriteOp mark_turn_started(const std::vector<int64_t>& ids, int64_t turn_last_id) {
  storage::WriteOp op;
  op.sql = "UPDATE inbound_messages SET turn_last_id = ?1 WHERE state = 'received' AND id IN (" +
           numbered_placeholders(2, ids.size()) + ")";
  op.params.push_back(SqlParam::of(turn_last_id));
  for (int64_t id : ids) op.params.push_back(SqlParam::of(id));
  return op;
}

namespace {

messaging::StoredMessage read_inbound(storage::Statement& s) {
  messaging::StoredMessage m;
  m.id = s.column_int64(0);
  m.channel = s.column_text(1);
  m.bot = s.column_text(2);
  m.platform_message_id = s.column_text(3);
  m.chat_jid = s.column_text(4);
  m.sender_id = s.column_text(5);
  m.sender_name = s.column_text(6);
  m.text = s.column_text(7);
  m.reply_ref = s.column_text(8);
  m.message_ref = s.column_text(9);
  m.timestamp_ms = s.column_int64(10);
  m.is_group = s.column_int64(11) != 0;
  m.mentions_bot = s.column_int64(12) != 0;
  m.turn_last_id = s.column_int64(13);
  return m;
}

}  // namespace

Result<std::vector<messaging::StoredMessage>> read_received_inbound(storage::Database& db, int64_t after_id,
                                                                    int64_t limit) {
  auto s = db.prepare(
      "SELECT id, channel, bot, platform_message_id, chat_jid, sender, sender_name, text, reply_ref, message_ref, "
      "sent_at, is_group, mentions_bot, COALESCE(turn_last_id, 0) FROM inbound_messages "
      "WHERE state = 'received' AND id > ?1 "
      "ORDER BY id LIMIT ?2");
  if (!s) return s.error();
  if (auto b = s->bind(1, after_id); !b) return b.error();
  if (auto b = s->bind(2, limit); !b) return b.error();
  std::vector<messaging::StoredMessage> out;
  while (true) {
    auto row = s->step();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(read_inbound(*s));
  }
}

Result<std::optional<int64_t>> find_inbound_id(storage::Database& db, std::string_view channel, std::string_view bot,
                                               std::string_view platform_message_id) {
  auto s = db.prepare("SELECT id FROM inbound_messages WHERE channel = ?1 AND bot = ?2 AND platform_message_id = ?3");
  if (!s) return s.error();
  if (auto st = s->bind(1, channel); !st) return st.error();
  if (auto st = s->bind(2, bot); !st) return st.error();
  if (auto st = s->bind(3, platform_message_id); !st) return st.error();
  auto row = s->step();
  if (!row) return row.error();
  if (!*row) return std::optional<int64_t>{};
  return std::optional<int64_t>(s->column_int64(0));
}

Result<std::string> read_latest_bot(storage::Database& db, const std::string& chat_jid) {
  auto stmt = db.prepare("SELECT channel, bot FROM inbound_messages WHERE chat_jid = ?1 ORDER BY id DESC LIMIT 1");
  if (!stmt) return stmt.error();
  if (auto b = stmt->bind(1, std::string_view(chat_jid)); !b) return b.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::string();
  return stmt->column_text(0) + "/" + stmt->column_text(1);
}

}  // namespace sb::storage
