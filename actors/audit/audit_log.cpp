#include "actors/audit/audit_log.hpp"

#include <chrono>

#include "actors/supervision/supervisor.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/time.hpp"
#include "runtime/security/audit/audit_chain.hpp"
#include "storage/audit_store.hpp"
#include "storage/sqlite.hpp"

namespace sb::actors {
namespace {

struct audit_state {
  AuditLogOptions options;
  int64_t next_seq = 1;
  std::string head_hash;  // hash of the last record ("" before the first)
  static inline const char* name = "audit_log";
};

using self_ptr = audit_log_actor::stateful_pointer<audit_state>;

// Reads the chain head on its own (reader) connection.
void load_head(audit_state& st) {
  storage::OpenOptions open;
  open.read_only = true;
  auto db = storage::Database::open(st.options.db_path, open);
  if (!db) throw std::runtime_error("audit: cannot open database: " + db.error().message);
  auto head = storage::read_audit_head(*db);
  if (!head) throw std::runtime_error("audit: " + head.error().message);
  if (*head) {
    st.next_seq = (*head)->seq + 1;
    st.head_hash = (*head)->hash;
  }
}

audit_log_actor::behavior_type audit_fn(self_ptr self, AuditLogOptions options) {
  log_exceptions(self, "audit_log");
  self->state.options = std::move(options);
  load_head(self->state);
  return {
      [=](append_atom, const AuditRecord& ev) -> caf::result<audit_receipt> {
        auto writer = lookup<storage_writer_actor>(self->system(), "storage");
        if (!writer) return caf::make_error(caf::sec::request_receiver_down, "storage writer down");
        auto& st = self->state;
        const int64_t seq = st.next_seq++;
        const int64_t at = now_ms();
        std::string prev = st.head_hash;
        std::string hash = audit_hash(prev, seq, at, ev);
        st.head_hash = hash;
        auto op = storage::append_audit_record(
            {security::audit::RecordFields{seq, at, ev.actor, ev.event, ev.subject, ev.detail}, prev, hash});
        auto promise = self->make_response_promise<audit_receipt>();
        self->request(writer, std::chrono::seconds(30), write_atom::value, std::move(op))
            .then(
                [=](const storage::WriteOutcome& out) mutable {
                  if (!out.ok) {
                    // The in-memory head no longer matches the table: restart from disk.
                    promise.deliver(caf::make_error(caf::sec::runtime_error, out.error_message));
                    self->quit(caf::make_error(caf::sec::runtime_error, "audit chain write failed"));
                    return;
                  }
                  promise.deliver(audit_receipt{seq, to_hex(hash)});
                },
                [=](caf::error& err) mutable {
                  promise.deliver(err);
                  self->quit(err);
                });
        return promise;
      },
      [=](status_atom) {
        return component_status{"audit", "running", "next_seq=" + std::to_string(self->state.next_seq)};
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
