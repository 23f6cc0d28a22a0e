#include "actors/channels/outbox.hpp"

#include <map>
#include <optional>

#include "actors/channels/channel_sender.hpp"
#include "actors/supervision/supervisor.hpp"
#include "channels/delivery/prepare_message.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/time.hpp"
#include "storage/error_codes.hpp"
#include "storage/outbox_store.hpp"
#include "storage/sqlite.hpp"

namespace sb::actors {
namespace {

struct outbox_state {
  OutboxOptions options;
  std::map<std::string, std::shared_ptr<const channels::ChannelBot>> bots;  // by id
  metrics::Registry* metrics = nullptr;
  std::optional<storage::Database> db;  // read-only, opened on the first repeated key
  static inline const char* name = "outbox";
};

using self_ptr = outbox_actor::stateful_pointer<outbox_state>;

enqueue_result refused(const std::string& code, const std::string& message) {
  return enqueue_result{{}, make_error(code, message)};
}

// The ids stored for a repeated idempotency key (empty if they cannot be read).
std::vector<int64_t> existing_ids(self_ptr self, const std::string& key, size_t pieces) {
  auto& st = self->state;
  if (st.options.db_path.empty()) return {};
  if (!st.db) {
    storage::OpenOptions ro;
    ro.read_only = true;
    auto db = storage::Database::open(st.options.db_path, ro);
    if (!db) return {};
    st.db.emplace(std::move(*db));
  }
  auto q = storage::select_by_key(key, pieces);
  auto stmt = st.db->prepare(q.sql);
  if (!stmt) return {};
  for (size_t i = 0; i < q.params.size(); ++i) (void)stmt->bind_param(static_cast<int>(i + 1), q.params[i]);
  std::vector<int64_t> ids;
  while (true) {
    auto row = stmt->step();
    if (!row || !*row) break;
    ids.push_back(stmt->column_int64(0));
  }
  return ids;
}

void count(self_ptr self, const std::string& bot_id, const char* result, size_t n) {
  if (auto* m = self->state.metrics) {
    m->counter("squadbox_outbox_enqueued_total", "Outbox rows (message pieces) by enqueue result.",
               {{"bot", bot_id}, {"result", result}})
        .inc(static_cast<double>(n));
  }
}

outbox_actor::behavior_type outbox_fn(self_ptr self, OutboxOptions options) {
  log_exceptions(self, "outbox");
  auto& st = self->state;
  for (const auto& bot : options.bots) st.bots.emplace(bot->id(), bot);
  st.metrics = options.metrics;
  st.options = std::move(options);
  return {
      [=](enqueue_atom, const outbound_message& message) -> caf::result<enqueue_result> {
        auto& st = self->state;
        const auto found = st.bots.find(message.bot_id);
        if (found == st.bots.end()) return refused("outbox.unknown_bot", "no enabled bot " + message.bot_id);
        const auto& bot = *found->second;
        auto prepared = channels::delivery::prepare_message(bot, message.chat_jid, message.text, message.reply_to);
        if (!prepared) {
          count(self, message.bot_id, "refused", 1);
          return refused(prepared.error().code, prepared.error().message);
        }
        auto writer = lookup<storage_writer_actor>(self->system(), "storage");
        if (!writer) return refused("outbox.storage", "storage writer down");
        const size_t pieces = prepared->pieces.size();
        auto op = storage::insert_pieces(prepared->channel, prepared->bot, prepared->chat_jid, prepared->pieces,
                                         prepared->reply_to, now_ms(), message.idempotency_key);
        op.fence = message.fence;
        auto promise = self->make_response_promise<enqueue_result>();
        const std::string bot_id = message.bot_id;
        const std::string key = message.idempotency_key;
        self->request(writer, st.options.write_timeout, write_atom::value, std::move(op))
            .then(
                [=](const storage::WriteOutcome& out) mutable {
                  if (!out.ok) {
                    log::error("outbox.enqueue_failed", {{"bot", bot_id}, {"error", out.error_code}});
                    // Fenced: the namespace moved to another node, which answers the turn.
                    const bool fenced = out.error_code == storage::kFenced;
                    promise.deliver(refused(fenced ? std::string(storage::kFenced) : "outbox.storage",
                                            out.error_code + ": " + out.error_message));
                    return;
                  }
                  if (!key.empty() && out.changes < static_cast<int64_t>(pieces)) {
                    // Enqueued before (a turn replayed after a crash): nothing new to send.
                    count(self, bot_id, "duplicate", pieces);
                    promise.deliver(enqueue_result{existing_ids(self, key, pieces), {}});
                    if (out.changes > 0) wake_bot_sender(self->system(), bot_id);
                    return;
                  }
                  count(self, bot_id, "stored", pieces);
                  promise.deliver(enqueue_result{storage::inserted_ids(out), {}});
                  wake_bot_sender(self->system(), bot_id);
                },
                [=](caf::error& err) mutable {
                  const std::string why = self->system().render(err);
                  log::error("outbox.enqueue_failed", {{"bot", bot_id}, {"error", why}});
                  promise.deliver(refused("outbox.storage", why));
                });
        return promise;
      },
      [=](status_atom) {
        return component_status{"outbox", "running", std::to_string(self->state.bots.size()) + " bots"};
      },
      [=](shutdown_atom) {
        self->quit(caf::exit_reason::user_shutdown);
        return true;
      },
  };
}

}  // namespace

outbox_actor spawn_outbox(caf::actor_system& system, OutboxOptions options) {
  return system.spawn(outbox_fn, std::move(options));
}

}  // namespace sb::actors
