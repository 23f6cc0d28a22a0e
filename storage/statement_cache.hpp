#pragma once
// Prepared statements of one connection, kept by SQL text and reset for each use. The
// scheduler runs the same few statements for every task it starts, and compiling them
// was most of their cost (docs/benchmarks.md, bench_scheduler). Not thread-safe: the
// owner serialises calls (TaskStore's mutex). Declare it after the Database, so the
// statements are finalized before the connection closes.
#include <string>
#include <string_view>
#include <unordered_map>

#include "storage/sqlite.hpp"

namespace sb::storage {

class StatementCache {
 public:
  explicit StatementCache(storage::Database& db) : db_(db) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // The statement for `sql`, reset with its bindings cleared. Valid until the cache dies;
  // a half-read SELECT keeps its read open until the next use or reset().
  Result<storage::Statement*> get(std::string_view sql) {
    auto it = cache_.find(std::string(sql));
    if (it == cache_.end()) {
      auto s = db_.prepare(sql, /*persistent=*/true);
      if (!s) return s.error();
      it = cache_.emplace(std::string(sql), std::move(*s)).first;
    }
    it->second.reset();
    return &it->second;
  }
  std::size_t size() const { return cache_.size(); }

 private:
  storage::Database& db_;
  std::unordered_map<std::string, storage::Statement> cache_;
};

}  // namespace sb::storage
