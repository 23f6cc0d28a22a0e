#include "actors/channels/channel_ingest.hpp"

#include <memory>
#include <optional>

#include "actors/supervision/supervisor.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/time.hpp"
#include "storage/inbound_store.hpp"

namespace sb::actors {
namespace {

struct ingest_state {
  IngestOptions options;
  metrics::Counter* stored = nullptr;
  metrics::Counter* duplicates = nullptr;
  metrics::Counter* failed = nullptr;
  static inline const char* name = "ingest";
};

using self_ptr = ingest_actor::stateful_pointer<ingest_state>;

// Outcomes of one batch, filled in as the writer answers. The caller is answered
// through exactly one of `promise` (a request) or `callback` (the webhook listener).
struct Pending {
  std::vector<messaging::StoredMessage> messages;
  std::vector<bool> stored;
  size_t answered = 0;
  ingest_result result;
  std::optional<caf::typed_response_promise<ingest_result>> promise;
  ingest_callback callback;
};

void finish(self_ptr self, Pending& p) {
  auto& st = self->state;
  if (st.stored) {
    st.stored->inc(p.result.stored);
    st.duplicates->inc(p.result.duplicates);
    if (!p.result.error.code.empty()) st.failed->inc(p.messages.size() - p.result.stored - p.result.duplicates);
  }
  if (p.promise) p.promise->deliver(p.result);
  if (p.callback && *p.callback) (*p.callback)(p.result);
  // Stored messages go on even if others of the batch failed: a retry of the delivery
  // will find them as duplicates, so this is their only chance to be routed.
  auto router = lookup<router_actor>(self->system(), "router");
  for (size_t i = 0; i < p.messages.size(); ++i) {
    if (!p.stored[i]) continue;
    if (router) self->send(router, route_atom::value, std::move(p.messages[i]));
  }
  if (!router && p.result.stored > 0)
    log::warn("ingest.no_router", {{"stored", static_cast<int64_t>(p.result.stored)}});
}

// One writer request per message; the writer batches everything that arrives together
// into one transaction. No timeout here (the writer always answers, or its death bounces
// the request): callers bound their own wait, so no timer is armed per message.
void store(self_ptr self, const std::shared_ptr<Pending>& pending) {
  pending->stored.assign(pending->messages.size(), false);
  auto writer = lookup<storage_writer_actor>(self->system(), "storage");
  if (!writer) {
    pending->result.error = make_error("ingest.writer_down", "storage writer down");
    finish(self, *pending);
    return;
  }
  const int64_t received = now_ms();
  for (size_t i = 0; i < pending->messages.size(); ++i) {
    auto on_outcome = [=](const storage::WriteOutcome& out) {
      auto& p = *pending;
      const std::optional<int64_t> id = storage::stored_inbound_id(out);
      if (id) {
        p.stored[i] = true;
        p.messages[i].id = *id;
        ++p.result.stored;
      } else if (out.ok) {
        ++p.result.duplicates;
      } else if (p.result.error.code.empty()) {
        p.result.error = make_error(out.error_code.empty() ? "ingest.write_failed" : out.error_code, out.error_message);
      }
      if (++p.answered == p.messages.size()) finish(self, p);
    };
    auto on_error = [=](caf::error& err) {
      auto& p = *pending;
      if (p.result.error.code.empty()) p.result.error = make_error("ingest.writer_failed", self->system().render(err));
      if (++p.answered == p.messages.size()) finish(self, p);
    };
    self->request(writer, caf::infinite, write_atom::value, storage::insert_inbound(pending->messages[i], received))
        .then(on_outcome, on_error);
  }
}

ingest_actor::behavior_type ingest_fn(self_ptr self, IngestOptions options) {
  log_exceptions(self, "ingest");
  auto& st = self->state;
  st.options = options;
  if (auto* m = options.metrics) {
    const std::string help = "Inbound platform messages by what the ingest did with them.";
    st.stored = &m->counter("squadbox_ingest_messages_total", help, {{"result", "stored"}});
    st.duplicates = &m->counter("squadbox_ingest_messages_total", help, {{"result", "duplicate"}});
    st.failed = &m->counter("squadbox_ingest_messages_total", help, {{"result", "failed"}});
  }
  return {
      [=](ingest_atom, std::vector<messaging::StoredMessage>& messages) -> caf::result<ingest_result> {
        if (messages.empty()) return ingest_result{};
        auto pending = std::make_shared<Pending>();
        pending->messages = std::move(messages);
        pending->promise = self->make_response_promise<ingest_result>();
        auto promise = *pending->promise;
        store(self, pending);
        return promise;
      },
      [=](ingest_atom, std::vector<messaging::StoredMessage>& messages, ingest_callback& callback) {
        auto pending = std::make_shared<Pending>();
        pending->messages = std::move(messages);
        pending->callback = std::move(callback);
        if (pending->messages.empty()) {
          if (pending->callback && *pending->callback) (*pending->callback)(ingest_result{});
          return;
        }
        store(self, pending);
      },
      [=](status_atom) {
        return component_status{"ingest", "running", ""};
      },
      [=](shutdown_atom) {
        self->quit(caf::exit_reason::user_shutdown);
        return true;
      },
  };
}

}  // namespace

ingest_actor spawn_ingest(caf::actor_system& system, IngestOptions options) {
  return system.spawn(ingest_fn, std::move(options));
}

}  // namespace sb::actors
