#include "actors/audit/audit_log.hpp"

#include <chrono>
#include <deque>

#include "actors/supervision/supervisor.hpp"
#include "runtime/core/backoff.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/time.hpp"
#include "runtime/security/audit/audit_chain.hpp"
#include "storage/audit_store.hpp"
#include "storage/sqlite.hpp"

namespace sb::actors {
namespace {

struct PendingRecord {
  AuditRecord record;
  int64_t at_ms = 0;
  caf::typed_response_promise<audit_receipt> promise;
};

struct audit_state {
  AuditLogOptions options;
  int64_t next_seq = 1;
  std::string head_hash;                              // hash of the last committed record ("" before the first)
  std::deque<PendingRecord> queue;                    // waiting, in order
  std::vector<PendingRecord> batch;                   // in flight (empty: none)
  std::vector<security::audit::ChainRecord> chained;  // what `batch` was sent as
  bool settling = false;                              // a failed batch: waiting for the barrier / retry timer
  int failures = 0;                                   // consecutive, for the backoff
  static inline const char* name = "audit_log";
};

using self_ptr = audit_log_actor::stateful_pointer<audit_state>;

// Reads the chain head on its own (reader) connection.
Result<std::optional<storage::AuditHead>> read_head(const std::string& db_path) {
  storage::OpenOptions open;
  open.read_only = true;
  auto db = storage::Database::open(db_path, open);
  if (!db) return db.error();
  return storage::read_audit_head(*db);
}

void load_head(audit_state& st) {
  auto head = read_head(st.options.db_path);
  if (!head) throw std::runtime_error("audit: cannot read the chain head: " + head.error().message);
  st.next_seq = *head ? (**head).seq + 1 : 1;
  st.head_hash = *head ? (**head).hash : std::string();
}

void flush(self_ptr self);

void batch_committed(self_ptr self) {
  auto& st = self->state;
  st.failures = 0;
  const auto& last = st.chained.back();
  st.next_seq = last.fields.seq + 1;
  st.head_hash = last.hash;
  for (size_t i = 0; i < st.batch.size(); ++i)
    st.batch[i].promise.deliver(audit_receipt{st.chained[i].fields.seq, to_hex(st.chained[i].hash)});
  st.batch.clear();
  st.chained.clear();
  flush(self);
}

// The batch failed or its answer is overdue. Once the writer has answered a barrier
// (nothing sent before it is still pending), the head on disk says whether the batch
// committed; if not, its records go back to the front of the queue and are chained again
// from the disk's head after a backoff.
void settle(self_ptr self, const std::string& why) {
  auto& st = self->state;
  st.settling = true;
  ++st.failures;
  log::warn("audit.write_failed", {{"error", why},
                                   {"records", static_cast<int64_t>(st.batch.size())},
                                   {"first_seq", st.chained.empty() ? 0 : st.chained.front().fields.seq}});
  auto writer = lookup<storage_writer_actor>(self->system(), "storage");
  auto resume = [self] {
    auto& st = self->state;
    auto head = read_head(st.options.db_path);
    if (!head) {
      log::warn("audit.head_unreadable", {{"error", head.error().message}});
      self->delayed_send(self, backoff_delay(st.options.retry_base, st.failures, st.options.retry_max),
                         retry_atom::value);
      return;
    }
    const int64_t disk_seq = *head ? (**head).seq : 0;
    if (!st.chained.empty() && disk_seq >= st.chained.back().fields.seq && (**head).hash == st.chained.back().hash) {
      // The answer was lost or late, but the batch is on disk.
      st.settling = false;
      batch_committed(self);
      return;
    }
    st.next_seq = disk_seq + 1;
    st.head_hash = *head ? (**head).hash : std::string();
    for (auto it = st.batch.rbegin(); it != st.batch.rend(); ++it) st.queue.push_front(std::move(*it));
    st.batch.clear();
    st.chained.clear();
    self->delayed_send(self, backoff_delay(st.options.retry_base, st.failures, st.options.retry_max),
                       retry_atom::value);
  };
  if (!writer) {
    // No writer, nothing of ours can still be pending in it.
    resume();
    return;
  }
  // No timeout: the barrier is answered after everything sent before it; a writer that
  // dies answers with an error, which settles just as well.
  self->request(writer, caf::infinite, write_atom::value, storage::writer_barrier())
      .then([resume](const storage::WriteOutcome&) { resume(); }, [resume](caf::error&) { resume(); });
}

void flush(self_ptr self) {
  auto& st = self->state;
  if (!st.batch.empty() || st.settling || st.queue.empty()) return;
  auto writer = lookup<storage_writer_actor>(self->system(), "storage");
  if (!writer) {
    st.settling = true;
    ++st.failures;
    self->delayed_send(self, backoff_delay(st.options.retry_base, st.failures, st.options.retry_max),
                       retry_atom::value);
    return;
  }
  int64_t seq = st.next_seq;
  std::string prev = st.head_hash;
  while (!st.queue.empty() && st.batch.size() < st.options.max_batch) {
    PendingRecord p = std::move(st.queue.front());
    st.queue.pop_front();
    const auto& ev = p.record;
    security::audit::RecordFields fields{seq, p.at_ms, ev.actor, ev.event, ev.subject, ev.detail};
    std::string hash = security::audit::chain_hash(prev, fields);
    st.chained.push_back(security::audit::ChainRecord{std::move(fields), prev, hash});
    prev = std::move(hash);
    ++seq;
    st.batch.push_back(std::move(p));
  }
  self->request(writer, st.options.write_timeout, write_atom::value, storage::append_audit_records(st.chained))
      .then(
          [self](const storage::WriteOutcome& out) {
            if (out.ok)
              batch_committed(self);
            else
              settle(self, out.error_code + ": " + out.error_message);
          },
          [self](caf::error& err) { settle(self, self->system().render(err)); });
}

audit_log_actor::behavior_type audit_fn(self_ptr self, AuditLogOptions options) {
  log_exceptions(self, "audit_log");
  self->state.options = std::move(options);
  load_head(self->state);
  return {
      [=](append_atom, AuditRecord& ev) -> caf::result<audit_receipt> {
        auto& st = self->state;
        if (st.queue.size() >= st.options.max_queued) {
          log::error("audit.queue_full", {{"event", ev.event}, {"queued", static_cast<int64_t>(st.queue.size())}});
          return caf::make_error(caf::sec::runtime_error, "audit queue full");
        }
        auto promise = self->make_response_promise<audit_receipt>();
        st.queue.push_back(PendingRecord{std::move(ev), now_ms(), promise});
        flush(self);
        return promise;
      },
      [=](retry_atom) {
        self->state.settling = false;
        flush(self);
      },
      [=](status_atom) {
        const auto& st = self->state;
        return component_status{
            "audit", st.settling ? "retrying" : "running",
            "next_seq=" + std::to_string(st.next_seq) + " queued=" + std::to_string(st.queue.size() + st.batch.size())};
      },
      [=](shutdown_atom) {
        self->quit(caf::exit_reason::user_shutdown);
        return true;
      },
  };
}

}  // namespace

std::string audit_hash(const std::string& prev_hash, int64_t seq, int64_t at_ms, const AuditRecord& ev) {
  return security::audit::chain_hash(
      prev_hash, security::audit::RecordFields{seq, at_ms, ev.actor, ev.event, ev.subject, ev.detail});
}

std::string to_hex(const std::string& bytes) {
  return security::audit::to_hex(bytes);
}

audit_log_actor spawn_audit_log(caf::actor_system& system, AuditLogOptions options) {
  return system.spawn(audit_fn, std::move(options));
}

}  // namespace sb::actors
