#pragma once
// The single writer of the SQLite database. Writes that arrive while a batch is
// pending share one transaction (group commit); each requester gets its own
// WriteOutcome only after the transaction is durable. Runs on its own thread
// (detached), because a commit blocks on fsync.
#include <chrono>
#include <string>

#include "actors/protocol.hpp"
#include "runtime/core/metrics.hpp"

namespace sb::actors {

struct StorageWriterOptions {
  std::string path;
  int busy_timeout_ms = 5000;
  std::string synchronous = "FULL";
  std::chrono::microseconds commit_window{0};  // 0: commit what the mailbox holds now
  size_t max_batch = 1024;
  metrics::Registry* metrics = nullptr;  // not owned; may be null
};

storage_writer_actor spawn_storage_writer(caf::actor_system& system, StorageWriterOptions options);

}  // namespace sb::actors
