#pragma once
// channel_state: small per-bot values a channel adapter keeps across restarts (Telegram's
// getUpdates offset), keyed by (channel, bot, key). The write is a pure WriteOp for the
// storage writer; the read takes the caller's own connection.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/core/result.hpp"
#include "storage/sql_value.hpp"
#include "storage/sqlite.hpp"

namespace sb::storage {

// The stored value; nullopt if there is none.
Result<std::optional<std::string>> read_channel_state(storage::Database& db, std::string_view channel,
                                                      std::string_view bot, std::string_view key);

// Insert or overwrite the value (and its updated_at).
storage::WriteOp upsert_channel_state(std::string_view channel, std::string_view bot, std::string_view key,
                                      std::string_view value, int64_t updated_at_ms);

}  // namespace sb::storage
