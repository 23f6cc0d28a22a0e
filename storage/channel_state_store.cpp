#include "storage/channel_state_store.hpp"

namespace sb::storage {

Result<std::optional<std::string>> read_channel_state(storage::Database& db, std::string_view channel,
                                                      std::string_view bot, std::string_view key) {
  auto stmt = db.prepare("SELECT value FROM channel_state WHERE channel = ?1 AND bot = ?2 AND key = ?3");
  if (!stmt) return stmt.error();
  if (auto b = stmt->bind(1, channel); !b) return b.error();
  if (auto b = stmt->bind(2, bot); !b) return b.error();
  if (auto b = stmt->bind(3, key); !b) return b.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>{};
  return std::optional<std::string>(stmt->column_text(0));
}

storage::WriteOp upsert_channel_state(std::string_view channel, std::string_view bot, std::string_view key,
                                      std::string_view value, int64_t updated_at_ms) {
  storage::WriteOp op;
  op.sql =
      "INSERT INTO channel_state(channel, bot, key, value, updated_at) VALUES(?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT(channel, bot, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
  op.params = {SqlParam::of(std::string(channel)), SqlParam::of(std::string(bot)), SqlParam::of(std::string(key)),
               SqlParam::of(std::string(value)), SqlParam::of(updated_at_ms)};
  return op;
}

}  // namespace sb::storage
