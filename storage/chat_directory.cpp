#include "storage/chat_directory.hpp"

#include <mutex>
#include <optional>

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

  std::vector<std::string> texts(const char* sql, const std::string& key) {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    auto* d = connection();
    if (!d) return out;
    auto stmt = d->prepare(sql);
    if (!stmt || !stmt->bind(1, std::string_view(key))) return out;
    for (auto row = stmt->step(); row && *row; row = stmt->step()) out.push_back(stmt->column_text(0));
    return out;
  }
};

constexpr const char* kOwnerSql =
    "SELECT n.name FROM chat_mappings m JOIN namespaces n ON n.id = m.namespace_id WHERE m.jid = ?1";
constexpr const char* kChatsSql =
    "SELECT m.jid FROM chat_mappings m JOIN namespaces n ON n.id = m.namespace_id WHERE n.name = ?1 ORDER BY m.jid";

}  // namespace

ChatDirectory open_chat_directory(const std::string& db_path) {
  auto reader = std::make_shared<MappingReader>();
  reader->path = db_path;
  ChatDirectory out;
  out.owner = [reader](const std::string& jid) -> std::optional<std::string> {
    if (jid.starts_with("local:")) return jid.substr(6);
    auto names = reader->texts(kOwnerSql, jid);
    if (names.empty()) return std::nullopt;
    return names.front();
  };
  out.chats_of = [reader](const std::string& group) { return reader->texts(kChatsSql, group); };
  return out;
}

}  // namespace sb::storage
