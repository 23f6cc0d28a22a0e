#include "actors/storage/storage_writer.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>

#include "actors/supervision/supervisor.hpp"
#include "runtime/core/log.hpp"
#include "storage/error_codes.hpp"
#include "storage/group_committer.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"

namespace sb::actors {
namespace {

struct storage_writer_state {
  StorageWriterOptions options;
  std::optional<storage::Database> db;
  std::unique_ptr<storage::GroupCommitter> committer;
  std::vector<storage::WriteOp> pending;
  std::vector<caf::typed_response_promise<storage::WriteOutcome>> promises;
  bool commit_scheduled = false;
  metrics::Counter* commits = nullptr;
  metrics::Counter* writes = nullptr;
  metrics::Counter* failures = nullptr;
  metrics::Histogram* batch_sizes = nullptr;
  metrics::Gauge* unavailable_gauge = nullptr;
  // Since when every write fails because the database cannot take it (the server is away,
  // the file lock is held): logged once when it starts and once when it ends, with its length.
  std::optional<std::chrono::steady_clock::time_point> unavailable_since;
  static inline const char* name = "storage_writer";
};

using self_ptr = storage_writer_actor::stateful_pointer<storage_writer_state>;

// A batch all of whose writes failed with an "unavailable" code starts an outage; any
// write that commits ends it.
void note_availability(self_ptr self, const std::vector<storage::WriteOutcome>& outcomes) {
  auto& st = self->state;
  const bool any_ok = std::any_of(outcomes.begin(), outcomes.end(), [](const auto& o) { return o.ok; });
  const bool all_unavailable = !outcomes.empty() && std::all_of(outcomes.begin(), outcomes.end(), [](const auto& o) {
    return !o.ok && storage::is_unavailable(o.error_code);
  });
  if (!st.unavailable_since && all_unavailable) {
    st.unavailable_since = std::chrono::steady_clock::now();
    log::error("storage.unavailable",
               {{"code", outcomes.front().error_code},
                {"error", outcomes.front().error_message},
                {"effect", "writes fail (webhooks 503, nothing acknowledged) until it is back"}});
    if (st.unavailable_gauge) st.unavailable_gauge->set(1);
  } else if (st.unavailable_since && any_ok) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - *st.unavailable_since)
            .count();
    st.unavailable_since.reset();
    log::info("storage.available", {{"after_ms", std::to_string(ms)}});
    if (st.unavailable_gauge) st.unavailable_gauge->set(0);
  }
}

void commit_pending(self_ptr self) {
  auto& st = self->state;
  st.commit_scheduled = false;
  if (st.pending.empty()) return;
  auto ops = std::move(st.pending);
  auto promises = std::move(st.promises);
  st.pending.clear();
  st.promises.clear();
  auto outcomes = st.committer->commit_batch(ops);
  if (st.commits) {
    st.commits->inc();
    st.writes->inc(ops.size());
    st.batch_sizes->observe(static_cast<double>(ops.size()));
  }
  note_availability(self, outcomes);
  for (size_t i = 0; i < promises.size(); ++i) {
    if (!outcomes[i].ok && st.failures) st.failures->inc();
    promises[i].deliver(std::move(outcomes[i]));
  }
}

void schedule_commit(self_ptr self) {
  auto& st = self->state;
  if (st.pending.size() >= st.options.max_batch) {
    commit_pending(self);
    return;
  }
  if (st.commit_scheduled) return;
  st.commit_scheduled = true;
  // A message to self lands behind every write already in the mailbox, so even a
  // zero window batches whatever arrived while the previous commit was on disk.
  if (st.options.commit_window.count() == 0)
    self->send(self, commit_atom::value);
  else
    self->delayed_send(self, st.options.commit_window, commit_atom::value);
}

storage_writer_actor::behavior_type writer_fn(self_ptr self, StorageWriterOptions options) {
  log_exceptions(self, "storage_writer");
  auto& st = self->state;
  st.options = std::move(options);
  storage::OpenOptions open;
  open.busy_timeout_ms = st.options.busy_timeout_ms;
  open.synchronous = st.options.synchronous;
  auto db = storage::Database::open(st.options.path, open);
  if (!db) throw std::runtime_error("storage open failed: " + db.error().message);
  if (auto ok = storage::migrate(*db); !ok) throw std::runtime_error("storage migrate failed: " + ok.error().message);
  st.db.emplace(std::move(*db));
  st.committer = std::make_unique<storage::GroupCommitter>(*st.db);
  if (auto* m = st.options.metrics) {
    st.commits = &m->counter("squadbox_storage_commits_total",
                             "Transactions (group commits) committed by the writer, on either storage engine.");
    st.writes = &m->counter("squadbox_storage_writes_total", "Writes committed by the writer.");
    st.failures = &m->counter("squadbox_storage_write_failures_total", "Writes that failed (constraint, I/O).");
    st.unavailable_gauge = &m->gauge("squadbox_storage_unavailable",
                                     "1 while every write fails because the database cannot take it (server away, "
                                     "lock held), else 0.");
    st.batch_sizes = &m->histogram("squadbox_storage_batch_size", "Writes per group-commit transaction.",
                                   {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096});
  }
  log::info("storage.writer_ready", {{"path", st.options.path}});
  return {
      [=](write_atom, storage::WriteOp& op) -> caf::result<storage::WriteOutcome> {
        auto promise = self->make_response_promise<storage::WriteOutcome>();
        self->state.pending.push_back(std::move(op));
        self->state.promises.push_back(promise);
        schedule_commit(self);
        return promise;
      },
      [=](commit_atom) { commit_pending(self); },
      [=](status_atom) {
        return component_status{"storage", "running", "commits=" + std::to_string(self->state.committer->commits())};
      },
      [=](shutdown_atom) {
        // Everything queued before this request has been appended to `pending`.
        commit_pending(self);
        self->state.committer.reset();
        self->state.db.reset();
        log::info("storage.writer_stopped", {});
        self->quit(caf::exit_reason::user_shutdown);
        return true;
      },
  };
}

}  // namespace

storage_writer_actor spawn_storage_writer(caf::actor_system& system, StorageWriterOptions options) {
  return system.spawn<caf::detached>(writer_fn, std::move(options));
}

}  // namespace sb::actors
