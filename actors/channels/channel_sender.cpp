#include "actors/channels/channel_sender.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <random>

#include "actors/protocol.hpp"
#include "actors/supervision/supervisor.hpp"
#include "channels/delivery/delivery_order.hpp"
#include "channels/delivery/retry_policy.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/time.hpp"
#include "runtime/http/keepalive_client.hpp"
#include "storage/outbox_store.hpp"
#include "storage/sqlite.hpp"

namespace sb::actors {
namespace {

using Clock = std::chrono::steady_clock;

// A sending turn yields to the mailbox (shutdown, wakes, commits) after this long.
constexpr std::chrono::milliseconds kTurnBudget{200};
// Storage trouble (no writer, unreadable database) is looked at again after this long.
constexpr int64_t kStorageRetryMs = 1000;

std::string group_name(const std::string& bot_id) {
  return "sb.outbox." + bot_id;
}

// What this sender decided about a row and has not yet seen committed.
struct Unconfirmed {
  uint64_t seq = 0;
  bool terminal = false;  // sent or failed: skip the row until the commit shows
  int64_t attempts = 0;   // retry: the values the database will have
  int64_t next_attempt_at = 0;
  storage::WriteOp op;
  bool writing = false;  // a write request is in flight
};

struct sender_state {
  ChannelSenderOptions options;
  std::string bot_id;
  std::string channel;
  channels::delivery::RetryPolicy policy;
  std::unique_ptr<http::KeepAliveClient> client;
  std::optional<storage::Database> db;
  std::optional<storage::Statement> select;
  std::optional<storage::Statement> select_next_due;
  bool sending = false;  // a batch waits for its attempts' start to commit
  std::map<int64_t, Unconfirmed> unconfirmed;
  uint64_t seq = 0;
  bool drain_queued = false;
  bool drain_on_commit = false;
  int64_t timer_at = 0;  // 0: no timer armed
  int64_t paused_until = 0;
  std::mt19937_64 rng{std::random_device{}()};
  metrics::Counter* sent = nullptr;
  metrics::Counter* failed = nullptr;
  metrics::Counter* retried = nullptr;
  metrics::Counter* rate_limited = nullptr;
  metrics::Counter* recovered = nullptr;  // found delivered by a lookup after a crash: not sent again
  metrics::Counter* resent = nullptr;     // perhaps delivered before a crash, sent again (no lookup)
  static inline const char* name = "channel_sender";
};

// Dynamically typed inside: a sender joins its bot's CAF local group (the outbox's wake
// reaches a restarted sender without a registry name), and CAF 0.17's typed actors
// cannot join groups. Callers get the typed handle (channel_sender_actor).
using self_ptr = caf::stateful_actor<sender_state>*;

void queue_drain(self_ptr self) {
  if (self->state.drain_queued) return;
  self->state.drain_queued = true;
  self->send(self, deliver_atom::value);
}

void arm_timer(self_ptr self, int64_t at_ms) {
  auto& st = self->state;
  if (st.timer_at != 0 && st.timer_at <= at_ms) return;
  st.timer_at = at_ms;
  const int64_t delay = std::max<int64_t>(0, at_ms - now_ms()) + 1;
  self->delayed_send(self, std::chrono::milliseconds(delay), retry_atom::value, at_ms);
}

void confirm(self_ptr self, int64_t id, uint64_t seq, bool ok, const std::string& error) {
  auto& st = self->state;
  auto it = st.unconfirmed.find(id);
  if (it == st.unconfirmed.end() || it->second.seq != seq) return;
  if (ok) {
    st.unconfirmed.erase(it);
    if (st.drain_on_commit) {
      st.drain_on_commit = false;
      queue_drain(self);
    }
    return;
  }
  // Kept in memory (so the row is not sent again) and written again on a later turn.
  it->second.writing = false;
  log::warn("outbound.mark_failed", {{"bot", st.bot_id}, {"id", id}, {"error", error}});
  arm_timer(self, now_ms() + kStorageRetryMs);
}

void submit(self_ptr self, int64_t id) {
  auto& st = self->state;
  auto& entry = st.unconfirmed.at(id);
  if (entry.writing) return;
  auto writer = lookup<storage_writer_actor>(self->system(), "storage");
  if (!writer) {
    arm_timer(self, now_ms() + kStorageRetryMs);
    return;
  }
  entry.writing = true;
  const uint64_t seq = entry.seq;
  self->request(writer, st.options.write_timeout, write_atom::value, entry.op)
      .then([=](const storage::WriteOutcome& out) { confirm(self, id, seq, out.ok, out.error_code); },
            [=](caf::error& err) { confirm(self, id, seq, false, self->system().render(err)); });
}

bool ensure_db(self_ptr self) {
  auto& st = self->state;
  if (st.select) return true;
  storage::OpenOptions opts;
  opts.read_only = true;
  auto db = storage::Database::open(st.options.db_path, opts);
  if (!db) {
    log::error("outbound.db_open_failed", {{"bot", st.bot_id}, {"error", db.error().message}});
    return false;
  }
  st.db.emplace(std::move(*db));
  auto stmt = st.db->prepare(storage::kSelectPending, true);
  auto next = stmt ? st.db->prepare(storage::kSelectNextDue, true) : Result<storage::Statement>(stmt.error());
  if (!stmt || !next) {
    log::error("outbound.db_open_failed", {{"bot", st.bot_id}, {"error", (stmt ? next : stmt).error().message}});
    st.db.reset();
    return false;
  }
  st.select.emplace(std::move(*stmt));
  st.select_next_due.emplace(std::move(*next));
  return true;
}

Result<std::vector<storage::OutboxRow>> load_pending(self_ptr self, size_t limit, int64_t now) {
  auto& st = self->state;
  auto& stmt = *st.select;
  std::vector<storage::OutboxRow> rows;
  auto fail = [&](const Error& e) -> Result<std::vector<storage::OutboxRow>> {
    stmt.reset();
    return e;
  };
  if (auto s = stmt.bind(1, st.channel); !s) return fail(s.error());
  if (auto s = stmt.bind(2, st.options.bot->name()); !s) return fail(s.error());
  if (auto s = stmt.bind(3, static_cast<int64_t>(limit)); !s) return fail(s.error());
  if (auto s = stmt.bind(4, now); !s) return fail(s.error());
  while (true) {
    auto more = stmt.step();
    if (!more) return fail(more.error());
    if (!*more) break;
    storage::OutboxRow row;
    row.id = stmt.column_int64(0);
    row.chat_jid = stmt.column_text(1);
    row.text = stmt.column_text(2);
    row.reply_to = stmt.column_text(3);
    row.attempts = stmt.column_int64(4);
    row.next_attempt_at = stmt.column_int64(5);
    row.created_at = stmt.column_int64(6);
    row.attempt_in_flight = stmt.column_int64(7) != 0;
    rows.push_back(std::move(row));
  }
  stmt.reset();  // ends the read transaction
  return rows;
}

// When the next pending row falls due per the database (0: none).
int64_t next_due_in_db(self_ptr self, int64_t now) {
  auto& st = self->state;
  if (!st.select_next_due) return 0;
  auto& stmt = *st.select_next_due;
  int64_t at = 0;
  if (stmt.bind(1, st.channel) && stmt.bind(2, st.options.bot->name()) && stmt.bind(3, now)) {
    auto row = stmt.step();
    if (row && *row && !stmt.column_is_null(0)) at = stmt.column_int64(0);
  }
  stmt.reset();
  return at;
}

// A row whose earlier attempt was cut short by a crash may be on the platform already.
// Where the platform can tell (Slack: the message's metadata in the history), ask it
// first; where it deduplicates by itself (Discord's nonce), just repeat. nullopt: send.
std::optional<channels::DeliveryOutcome> already_delivered(self_ptr self, const storage::OutboxRow& row,
                                                           const messaging::Jid& jid, const std::string& key) {
  auto& st = self->state;
  const auto& bot = *st.options.bot;
  if (bot.repeats_are_deduplicated(row.reply_to)) return std::nullopt;
  auto lookup = bot.build_delivered_lookup(jid.native_id, row.reply_to, key, row.created_at);
  std::string why = "the platform cannot be asked";
  if (lookup && *lookup) {
    auto& request = **lookup;
    auto response = st.client->request(request.method, bot.base_url() + request.path, std::move(request.headers),
                                       std::move(request.body));
    if (response) {
      auto found = bot.find_delivered(channels::HttpReply{response->status, response->headers, response->body}, key);
      if (found && *found) {
        if (st.recovered) st.recovered->inc();
        log::info("outbound.recovered", {{"bot", st.bot_id}, {"id", row.id}, {"delivered_id", **found}});
        return channels::success_outcome(**found);
      }
      if (found) return std::nullopt;  // surely not there: the first send
      why = found.error().message;
    } else {
      why = response.error().message;
    }
  }
  // Telegram and WhatsApp take no key: at most this one repeat per crash (documented).
  if (st.resent) st.resent->inc();
  log::warn("outbound.resent_after_crash", {{"bot", st.bot_id}, {"id", row.id}, {"why", why}});
  return std::nullopt;
}

channels::DeliveryOutcome attempt(self_ptr self, const storage::OutboxRow& row) {
  auto& st = self->state;
  const auto& bot = *st.options.bot;
  auto jid = messaging::parse_jid(row.chat_jid);
  if (!jid) return channels::permanent_outcome("bad_jid", jid.error().message);
  const std::string key = "sb" + std::to_string(row.id);
  if (row.attempt_in_flight)
    if (auto known = already_delivered(self, row, *jid, key)) return *known;
  auto request = bot.build_message(jid->native_id, row.text, row.reply_to, key);
  if (!request) return channels::permanent_outcome(request.error().code, request.error().message);
  auto response = st.client->request(request->method, bot.base_url() + request->path, std::move(request->headers),
                                     std::move(request->body));
  if (!response) return channels::network_failure(response.error().code + ": " + response.error().message);
  channels::HttpReply reply{response->status, response->headers, response->body};
  return bot.classify(reply);
}

void send_row(self_ptr self, const storage::OutboxRow& row, channels::delivery::DeliveryOrder& order) {
  auto& st = self->state;
  const auto outcome = attempt(self, row);
  const int64_t now = now_ms();
  const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(st.rng);
  const auto d = channels::delivery::decide(outcome, {row.attempts, row.created_at}, now, st.policy, jitter);
  if (d.bot_pause_until_ms > now) {
    st.paused_until = std::max(st.paused_until, d.bot_pause_until_ms);
    order.pause(st.paused_until);
  }
  Unconfirmed entry;
  entry.seq = ++st.seq;
  using Kind = channels::delivery::RetryDecision::Kind;
  switch (d.kind) {
    case Kind::sent:
      entry.terminal = true;
      entry.op = storage::mark_sent(row.id, d.attempts, outcome.delivered_id, now);
      if (st.sent) st.sent->inc();
      break;
    case Kind::failed:
      entry.terminal = true;
      entry.op = storage::mark_failed(row.id, d.attempts, d.error, now);
      if (st.failed) st.failed->inc();
      log::warn("outbound.failed", {{"bot", st.bot_id},
                                    {"id", row.id},
                                    {"attempts", d.attempts},
                                    {"reason", outcome.reason},
                                    {"error", d.error}});
      break;
    case Kind::retry:
      entry.attempts = d.attempts;
      entry.next_attempt_at = d.next_attempt_at_ms;
      // A transient failure (no answer, 5xx) may have been delivered all the same: the
      // row keeps its attempt in flight, so the next attempt asks first where it can.
      entry.op = storage::mark_retry(row.id, d.attempts, d.next_attempt_at_ms, d.error, now,
                                     outcome.kind == channels::DeliveryOutcome::Kind::transient);
      order.hold(row.chat_jid, d.next_attempt_at_ms);
      if (outcome.kind == channels::DeliveryOutcome::Kind::retry_after) {
        if (st.rate_limited) st.rate_limited->inc();
      } else if (st.retried) {
        st.retried->inc();
      }
      log::info("outbound.retry", {{"bot", st.bot_id},
                                   {"id", row.id},
                                   {"attempts", d.attempts},
                                   {"reason", outcome.reason},
                                   {"in_ms", d.next_attempt_at_ms - now}});
      break;
  }
  st.unconfirmed[row.id] = std::move(entry);
  submit(self, row.id);
}

void send_batch(self_ptr self, std::vector<storage::OutboxRow> rows, bool more);

// Picks the rows to send now, commits that their attempts begin (so that a crash while
// they are out leaves them marked), then sends them (send_batch).
void drain(self_ptr self) {
  auto& st = self->state;
  st.drain_queued = false;
  if (st.sending) return;  // the batch in hand drains again when it is done
  for (auto& [id, entry] : st.unconfirmed) {
    if (!entry.writing) submit(self, id);
  }
  if (!ensure_db(self)) {
    arm_timer(self, now_ms() + kStorageRetryMs);
    return;
  }
  const int64_t now = now_ms();
  const size_t limit = st.options.batch + st.unconfirmed.size();
  auto rows = load_pending(self, limit, now);
  if (!rows) {
    log::error("outbound.db_read_failed", {{"bot", st.bot_id}, {"error", rows.error().message}});
    st.select.reset();
    st.select_next_due.reset();
    st.db.reset();
    arm_timer(self, now_ms() + kStorageRetryMs);
    return;
  }
  channels::delivery::DeliveryOrder order(now);
  order.pause(st.paused_until);
  std::vector<storage::OutboxRow> picked;
  bool more = false;
  for (auto& row : *rows) {
    if (auto it = st.unconfirmed.find(row.id); it != st.unconfirmed.end()) {
      if (it->second.terminal) continue;
      row.attempts = it->second.attempts;
      row.next_attempt_at = it->second.next_attempt_at;
    }
    if (picked.size() >= st.options.batch) {
      more = true;
      break;
    }
    if (!order.admit(row.chat_jid, row.next_attempt_at)) continue;
    picked.push_back(std::move(row));
  }
  const bool window_full = rows->size() == limit;
  if (picked.empty()) {
    if (window_full && !st.unconfirmed.empty()) {
      st.drain_on_commit = true;  // the window is taken by rows whose outcome is being committed
      return;
    }
    int64_t due = next_due_in_db(self, now);
    if (auto in_memory = order.next_due()) due = due == 0 ? *in_memory : std::min(due, *in_memory);
    if (due > 0) arm_timer(self, due);
    return;
  }
  auto writer = lookup<storage_writer_actor>(self->system(), "storage");
  if (!writer) {
    arm_timer(self, now + kStorageRetryMs);
    return;
  }
  std::vector<int64_t> ids;
  ids.reserve(picked.size());
  for (const auto& row : picked) ids.push_back(row.id);
  st.sending = true;
  more = more || window_full;
  self->request(writer, st.options.write_timeout, write_atom::value, storage::mark_attempts_started(ids, now))
      .then(
          [self, picked = std::move(picked), more](const storage::WriteOutcome& out) mutable {
            if (!out.ok) {
              self->state.sending = false;
              log::warn("outbound.mark_failed", {{"bot", self->state.bot_id}, {"error", out.error_code}});
              arm_timer(self, now_ms() + kStorageRetryMs);
              return;
            }
            send_batch(self, std::move(picked), more);
          },
          [self](caf::error& err) {
            self->state.sending = false;
            log::warn("outbound.mark_failed", {{"bot", self->state.bot_id}, {"error", self->system().render(err)}});
            arm_timer(self, now_ms() + kStorageRetryMs);
          });
}

void send_batch(self_ptr self, std::vector<storage::OutboxRow> rows, bool more) {
  auto& st = self->state;
  const auto started = Clock::now();
  channels::delivery::DeliveryOrder order(now_ms());
  order.pause(st.paused_until);
  std::vector<int64_t> not_attempted;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    // A retry earlier in this batch holds the rest of its chat; the turn budget the rest.
    if (Clock::now() - started > kTurnBudget) {
      for (size_t j = i; j < rows.size(); ++j) not_attempted.push_back(rows[j].id);
      more = true;
      break;
    }
    if (!order.admit(row.chat_jid, row.next_attempt_at)) {
      not_attempted.push_back(row.id);
      continue;
    }
    send_row(self, row, order);
  }
  st.sending = false;
  if (!not_attempted.empty())
    if (auto writer = lookup<storage_writer_actor>(self->system(), "storage"))
      self->request(writer, st.options.write_timeout, write_atom::value, storage::clear_attempts_started(not_attempted))
          .then([](const storage::WriteOutcome&) {}, [](caf::error&) {});
  if (more)
    queue_drain(self);
  else if (auto due = order.next_due())
    arm_timer(self, *due);
  else
    st.drain_on_commit = true;  // look again once the outcomes are committed
}

// One typing indicator, now; its outcome only counted (an indicator is never retried).
void send_typing_now(self_ptr self, const std::string& chat_jid, const std::string& message_id) {
  auto& st = self->state;
  const char* result = "sent";
  if (st.paused_until > now_ms()) {
    result = "skipped";  // rate limited: replies matter more
  } else {
    auto jid = messaging::parse_jid(chat_jid);
    auto request =
        jid ? st.options.bot->build_typing(jid->native_id, message_id) : Result<channels::OutboundRequest>(jid.error());
    if (!request) {
      result = "refused";
      log::debug("outbound.typing_refused", {{"bot", st.bot_id}, {"error", request.error().code}});
    } else {
      auto response = st.client->request(request->method, st.options.bot->base_url() + request->path,
                                         std::move(request->headers), std::move(request->body));
      if (!response || response->status < 200 || response->status >= 300) {
        result = "failed";
        log::debug("outbound.typing_failed", {{"bot", st.bot_id},
                                              {"path", request->log_path},
                                              {"status", response ? int64_t{response->status} : int64_t{0}}});
      }
    }
  }
  if (auto* m = st.options.metrics)
    m->counter("squadbox_typing_indicators_total", "Typing indicators by bot and result.",
               {{"bot", st.bot_id}, {"result", result}})
        .inc();
}

caf::behavior sender_fn(self_ptr self, ChannelSenderOptions options) {
  log_exceptions(self, "sender");
  auto& st = self->state;
  st.bot_id = options.bot->id();
  st.channel = std::string(messaging::channel_name(options.bot->kind()));
  st.policy = channels::delivery::RetryPolicy::from(options.outbound);
  http::KeepAliveOptions http_options;
  http_options.timeout = std::chrono::milliseconds(std::max<int64_t>(1, options.outbound.request_timeout_ms));
  http_options.ca_file = options.outbound.ca_file;
  st.client = std::make_unique<http::KeepAliveClient>(http_options);
  if (auto* m = options.metrics) {
    const std::string help = "Outbound delivery attempts by bot and result.";
    st.sent = &m->counter("squadbox_outbound_messages_total", help, {{"bot", st.bot_id}, {"result", "sent"}});
    st.failed = &m->counter("squadbox_outbound_messages_total", help, {{"bot", st.bot_id}, {"result", "failed"}});
    st.retried = &m->counter("squadbox_outbound_messages_total", help, {{"bot", st.bot_id}, {"result", "retry"}});
    st.rate_limited =
        &m->counter("squadbox_outbound_messages_total", help, {{"bot", st.bot_id}, {"result", "rate_limited"}});
    st.recovered = &m->counter("squadbox_outbound_messages_total", help, {{"bot", st.bot_id}, {"result", "recovered"}});
    st.resent =
        &m->counter("squadbox_outbound_messages_total", help, {{"bot", st.bot_id}, {"result", "resent_after_crash"}});
  }
  st.options = std::move(options);
  self->join(self->system().groups().get_local(group_name(st.bot_id)));
  log::info("outbound.sender_started", {{"bot", st.bot_id}});
  queue_drain(self);  // resume whatever is pending
  return {
      [=](wake_atom) { queue_drain(self); },
      [=](deliver_atom) { drain(self); },
      [=](typing_atom, const std::string& chat_jid, const std::string& message_id) {
        send_typing_now(self, chat_jid, message_id);
      },
      [=](retry_atom, int64_t at) {
        if (self->state.timer_at == at) self->state.timer_at = 0;
        queue_drain(self);
      },
      [=](status_atom) {
        auto& st = self->state;
        const bool paused = st.paused_until > now_ms();
        return component_status{"sender " + st.bot_id, paused ? "paused" : "running",
                                std::to_string(st.unconfirmed.size()) + " outcomes being committed"};
      },
      [=](shutdown_atom) {
        self->quit(caf::exit_reason::user_shutdown);
        return true;
      },
  };
}

}  // namespace

channel_sender_actor spawn_channel_sender(caf::actor_system& system, ChannelSenderOptions options) {
  return caf::actor_cast<channel_sender_actor>(system.spawn<caf::detached>(sender_fn, std::move(options)));
}

void wake_sender(caf::actor_system& system, const std::string& bot_id) {
  caf::anon_send(system.groups().get_local(group_name(bot_id)), wake_atom::value);
}

void wake_bot_sender(caf::actor_system& system, const std::string& bot_id) {
  if (auto cluster = lookup<cluster_actor>(system, "cluster")) {
    caf::anon_send(cluster, wake_atom::value, bot_id);
    return;
  }
  wake_sender(system, bot_id);
}

void send_typing(caf::actor_system& system, const std::string& bot_id, const std::string& chat_jid,
                 const std::string& inbound_message_id) {
  caf::anon_send(system.groups().get_local(group_name(bot_id)), typing_atom::value, chat_jid, inbound_message_id);
}

}  // namespace sb::actors
