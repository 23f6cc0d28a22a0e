#include "actors/channels/telegram_poller.hpp"

#include <algorithm>
#include <optional>

#include <caf/all.hpp>

#include "actors/channels/http_worker.hpp"
#include "actors/protocol.hpp"
#include "actors/supervision/supervisor.hpp"
#include "channels/telegram/poll_policy.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/time.hpp"
#include "storage/channel_state_store.hpp"
#include "storage/sqlite.hpp"

namespace sb::actors {
namespace {

using namespace std::chrono_literals;

// Extra time the HTTP exchange gets beyond the long-poll timeout the server honours.
constexpr std::chrono::milliseconds kPollMargin{10000};
constexpr std::chrono::milliseconds kIngestTimeout{30000};
constexpr std::chrono::milliseconds kStoreTimeout{15000};

struct poller_state {
  TelegramPollerOptions options;
  std::string bot_id;
  int64_t offset = 0;
  int failures = 0;  // consecutive
  std::string last_result = "starting";
  std::string log_path;  // of the current poll: the path without the bot token
  std::unique_ptr<HttpWorker> worker;
  static inline const char* name = "telegram_poller";
};

using self_ptr = telegram_poller_actor::stateful_pointer<poller_state>;

// The persisted offset, or 0 (Telegram then starts at the oldest unconfirmed update;
// anything already stored is deduplicated by the ingest).
int64_t load_offset(const std::string& db_path, const std::string& bot) {
  if (db_path.empty()) return 0;
  storage::OpenOptions o;
  o.read_only = true;
  auto db = storage::Database::open(db_path, o);
  Result<int64_t> found = db ? Result<int64_t>(0) : Result<int64_t>(db.error());
  if (db) {
    auto stored = storage::read_channel_state(*db, "telegram", bot, "offset");
    if (!stored) {
      found = stored.error();
    } else if (*stored) {
      const std::string& text = **stored;
      try {
        found = std::max<int64_t>(0, std::stoll(text));
      } catch (const std::exception&) {
        found = make_error("telegram.offset", "stored offset '" + text + "' is not a number");
      }
    }
  }
  if (!found) {
    log::warn("telegram.offset_unreadable",
              {{"bot", "telegram/" + bot}, {"error", found.error().message}, {"offset", int64_t{0}}});
    return 0;
  }
  return *found;
}

storage::WriteOp offset_write(const std::string& bot, int64_t offset) {
  return storage::upsert_channel_state("telegram", bot, "offset", std::to_string(offset), now_ms());
}

void count(self_ptr self, const std::string& result) {
  auto& st = self->state;
  st.last_result = result;
  if (st.options.metrics)
    st.options.metrics
        ->counter("squadbox_telegram_polls_total", "Telegram getUpdates polls by outcome.",
                  {{"bot", st.bot_id}, {"result", result}})
        .inc();
}

void poll(self_ptr self, std::chrono::milliseconds delay) {
  auto& st = self->state;
  auto request = st.options.bot->build_poll(st.offset, st.options.poll_timeout_s);
  if (!request) {
    // A malformed token cannot change while running: stop, and let the supervisor
    // decide (it restarts with backoff and gives up after its budget).
    count(self, "refused");
    log::error("telegram.poll_invalid", {{"bot", st.bot_id}, {"error", request.error().message}});
    st.worker->stop();
    self->quit(caf::sec::invalid_argument);
    return;
  }
  HttpJob job;
  job.delay = delay;
  job.method = request->method;
  job.url = st.options.bot->base_url() + request->path;
  st.log_path = request->log_path;
  job.headers.assign(request->headers.begin(), request->headers.end());
  job.body = std::move(request->body);
  job.client.timeout = std::chrono::seconds(std::max(0, st.options.poll_timeout_s)) + kPollMargin;
  job.client.ca_file = st.options.ca_file;
  st.worker->submit(std::move(job));
}

void fail(self_ptr self, const channels::telegram::PollVerdict& verdict) {
  auto& st = self->state;
  ++st.failures;
  const auto delay = channels::telegram::poll_delay(verdict.wait, st.failures, verdict.retry_after,
                                                    st.options.backoff_base, st.options.backoff_max);
  count(self, verdict.result);
  log::warn("telegram.poll_failed", {{"bot", st.bot_id},
                                     {"path", st.log_path},
                                     {"result", verdict.result},
                                     {"reason", verdict.reason},
                                     {"detail", verdict.detail},
                                     {"failures", st.failures},
                                     {"retry_in_ms", static_cast<int64_t>(delay.count())}});
  poll(self, delay);
}

channels::telegram::PollVerdict local_failure(std::string result, std::string detail) {
  channels::telegram::PollVerdict v;
  v.result = std::move(result);
  v.wait = channels::telegram::PollVerdict::Wait::backoff;
  v.reason = v.result;
  v.detail = std::move(detail);
  return v;
}

// Ingested (or nothing to ingest): make the next offset durable, then poll on.
void persist(self_ptr self, int64_t next_offset, std::string result) {
  auto writer = lookup<storage_writer_actor>(self->system(), "storage");
  if (!writer) return fail(self, local_failure("store_failed", "storage writer down"));
  self->request(writer, kStoreTimeout, write_atom::value, offset_write(self->state.options.bot->name(), next_offset))
      .then(
          [=](const storage::WriteOutcome& out) {
            if (!out.ok) return fail(self, local_failure("store_failed", out.error_code + ": " + out.error_message));
            auto& st = self->state;
            st.offset = std::max(st.offset, next_offset);
            st.failures = 0;
            count(self, result);
            poll(self, std::chrono::milliseconds(0));
          },
          [=](caf::error& err) { fail(self, local_failure("store_failed", self->system().render(err))); });
}

void on_answer(self_ptr self, HttpAnswer& answer) {
  auto& st = self->state;
  if (!answer.error_code.empty())
    return fail(self, channels::telegram::network_verdict(answer.error_code, answer.error_message));
  channels::HttpReply reply{answer.status, answer.headers, answer.body};
  channels::telegram::PollVerdict verdict = channels::telegram::judge_poll(*st.options.bot, reply);
  if (!verdict.batch) return fail(self, verdict);
  auto& batch = *verdict.batch;
  for (const auto& ignored : batch.delivery.ignored)
    log::debug("telegram.update_ignored",
               {{"bot", st.bot_id}, {"update_id", ignored.platform_id}, {"reason", ignored.reason}});
  if (!batch.next_offset) {  // the long poll ended without updates
    st.failures = 0;
    count(self, verdict.result);
    return poll(self, std::chrono::milliseconds(0));
  }
  const int64_t next = *batch.next_offset;
  if (batch.delivery.messages.empty()) return persist(self, next, verdict.result);
  std::vector<messaging::StoredMessage> messages;
  messages.reserve(batch.delivery.messages.size());
  for (const auto& m : batch.delivery.messages) messages.push_back(messaging::to_stored(m));
  auto ingest = lookup<ingest_actor>(self->system(), "ingest");
  if (!ingest) return fail(self, local_failure("ingest_failed", "ingest actor down"));
  const auto n = static_cast<int64_t>(messages.size());
  self->request(ingest, kIngestTimeout, ingest_atom::value, std::move(messages))
      .then(
          [=](const ingest_result& r) {
            // Not stored: keep the offset, so the same updates come again.
            if (!r.error.code.empty()) return fail(self, local_failure("ingest_failed", r.error.message));
            log::debug("telegram.polled", {{"bot", self->state.bot_id},
                                           {"messages", n},
                                           {"stored", static_cast<int64_t>(r.stored)},
                                           {"duplicates", static_cast<int64_t>(r.duplicates)}});
            persist(self, next, "ok");
          },
          [=](caf::error& err) { fail(self, local_failure("ingest_failed", self->system().render(err))); });
}

telegram_poller_actor::behavior_type poller_fn(self_ptr self, TelegramPollerOptions options) {
  log_exceptions(self, "telegram_poller");
  auto& st = self->state;
  st.options = std::move(options);
  st.options.poll_timeout_s = std::clamp(st.options.poll_timeout_s, 0, 50);
  st.bot_id = st.options.bot->id();
  st.offset = load_offset(st.options.db_path, st.options.bot->name());
  // The worker reaches the actor through a weak address: it must not keep it alive.
  caf::actor_addr me = self->address();
  st.worker = std::make_unique<HttpWorker>([me](HttpAnswer answer) {
    if (auto target = caf::actor_cast<caf::actor>(me))
      caf::anon_send(target, polled_atom::value, std::move(answer.status), std::move(answer.body),
                     std::move(answer.headers), std::move(answer.error_code), std::move(answer.error_message));
  });
  log::info("telegram.polling_started", {{"bot", st.bot_id},
                                         {"offset", st.offset},
                                         {"poll_timeout_s", st.options.poll_timeout_s},
                                         {"url", st.options.bot->base_url()}});
  poll(self, std::chrono::milliseconds(0));
  return {
      [=](polled_atom, int32_t status, std::string& body, http::Headers& headers, std::string& error_code,
          std::string& error_message) {
        HttpAnswer answer{status, std::move(body), std::move(headers), std::move(error_code), std::move(error_message)};
        on_answer(self, answer);
      },
      [=](status_atom) {
        auto& s = self->state;
        return component_status{"telegram_poller", "running",
                                s.bot_id + " offset " + std::to_string(s.offset) + ", last poll " + s.last_result};
      },
      [=](shutdown_atom) {
        // Interrupts a pending long poll: nothing is lost, the offset on disk is where
        // the next start resumes.
        self->state.worker->stop();
        log::info("telegram.polling_stopped", {{"bot", self->state.bot_id}, {"offset", self->state.offset}});
        self->quit(caf::exit_reason::user_shutdown);
        return true;
      },
  };
}

}  // namespace

telegram_poller_actor spawn_telegram_poller(caf::actor_system& system, TelegramPollerOptions options) {
  if (!options.bot || !options.bot->polling()) {
    log::error("telegram.poller_not_started",
               {{"bot", options.bot ? options.bot->id() : std::string("(none)")}, {"error", "bot does not poll"}});
    return {};
  }
  return system.spawn<caf::detached>(poller_fn, std::move(options));
}

}  // namespace sb::actors
