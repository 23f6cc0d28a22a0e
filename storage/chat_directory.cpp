#include "storage/chat_directory.hpp"

#include <mutex>
#include <optional>

#include "storage/namespace_rows.hpp"
#include "storage/sqlite.hpp"

namespace sb::storage {

using namespace schedule;
namespace {

struct MappingReader {
  std::mutex mutex;
  std::string path;
  std::optional<storage::Database> db;

  // Under `mutex`.
  storage::Database* connection() {
    if (!db) {
      storage::OpenOptions ro;
      ro.read_only = true;
      auto opened = storage::Database::open(path, ro);
      if (!opened) return nullptr;
      db.emplace(std::move(*opened));
    }
    return &*db;
  }

  // Runs `read` on the connection under `mutex`; an unreadable database reads as `none`.
  template <class T, class Read>
  T read_or(T none, Read read) {
    std::lock_guard lock(mutex);
    auto* d = connection();
    if (!d) return none;
    auto found = read(*d);
    if (!found) return none;
    return std::move(*found);
  }
};

}  // namespace

ChatDirectory open_chat_directory(const std::string& db_path) {
  auto reader = std::make_shared<MappingReader>();
  reader->path = db_path;
  ChatDirectory out;
  out.owner = [reader](const std::string& jid) -> std::optional<std::string> {
    if (jid.starts_with("local:")) return jid.substr(6);
    return reader->read_or(std::optional<std::string>{},
                           [&](storage::Database& db) { return read_chat_owner(db, jid); });
  };
  out.chats_of = [reader](const std::string& group) {
    return reader->read_or(std::vector<std::string>{}, [&](storage::Database& db) { return read_chats_of(db, group); });
  };
  return out;
}

}  // namespace sb::storage
