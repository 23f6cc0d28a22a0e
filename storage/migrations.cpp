#include "storage/migrations.hpp"

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/log.hpp"
#include "storage/schema_postgres.hpp"

namespace sb::storage {

namespace {

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

// Conventions for every table:
//  * Times are INTEGER unix epoch milliseconds, UTC (`*_at`, next_run, last_run).
//    Cheap to compare/index and free of time-zone parsing; for a human view use
//    datetime(col / 1000, 'unixepoch').
//  * Tables are STRICT: a value of the wrong type is an error instead of being
//    stored silently as something else.
//  * `state`/`status` columns are free TEXT (no CHECK): their vocabularies belong
//    to the code that drives them, and SQLite cannot alter a CHECK without
//    rebuilding the table. CHECKs are used where the domain is fixed by the product.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE namespaces (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;

-- A chat JID (tg:123, slack:C01, dc:42, wa:+4912...) routes to exactly one namespace.
CREATE TABLE chat_mappings (
  jid          TEXT PRIMARY KEY,
  namespace_id TEXT NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX chat_mappings_by_namespace ON chat_mappings(namespace_id);

-- Persisted before the platform gets its 2xx. The UNIQUE key is the dedupe:
-- a redelivered webhook fails the insert with sqlite.constraint.
-- state: received -> routed -> done | dropped | failed.
CREATE TABLE inbound_messages (
  id                  INTEGER PRIMARY KEY,
  channel             TEXT NOT NULL,
  platform_message_id TEXT NOT NULL,
  chat_jid            TEXT NOT NULL,
  sender              TEXT NOT NULL DEFAULT '',
  text                TEXT NOT NULL DEFAULT '',
  received_at         INTEGER NOT NULL,
  state               TEXT NOT NULL DEFAULT 'received',
  UNIQUE (channel, platform_message_id)
) STRICT;
-- Restart recovery scans unfinished messages in arrival order.
CREATE INDEX inbound_messages_by_state ON inbound_messages(state, id);

-- Replies waiting for (or retrying) delivery. state: pending | sending | sent | failed.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  channel         TEXT NOT NULL,
  chat_jid        TEXT NOT NULL,
  text            TEXT NOT NULL,
  reply_to        TEXT,
  state           TEXT NOT NULL DEFAULT 'pending',
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

-- One row per container the broker started. namespace_id has no foreign key on
-- purpose: run history (and reconciliation of labelled containers) must survive
-- the deletion of a namespace; cowork runs have no namespace (NULL).
-- kind: agent | scheduled | cowork; backend: oci | docker | apple;
-- state: the ContainerSupervisor lifecycle (pending ... exited | dead).
CREATE TABLE container_runs (
  id           TEXT PRIMARY KEY,
  namespace_id TEXT,
  kind         TEXT NOT NULL,
  backend      TEXT NOT NULL,
  image        TEXT NOT NULL,
  state        TEXT NOT NULL,
  exit_code    INTEGER,
  started_at   INTEGER,
  ended_at     INTEGER,
  error        TEXT
) STRICT;
CREATE INDEX container_runs_by_state ON container_runs(state);
CREATE INDEX container_runs_by_namespace ON container_runs(namespace_id, started_at);

CREATE TABLE container_run_transitions (
  id         INTEGER PRIMARY KEY,
  run_id     TEXT NOT NULL REFERENCES container_runs(id) ON DELETE CASCADE,
  from_state TEXT,  -- NULL for the first transition
  to_state   TEXT NOT NULL,
  at         INTEGER NOT NULL,
  reason     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX container_run_transitions_by_run ON container_run_transitions(run_id, id);

CREATE TABLE scheduled_tasks (
  id             TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  namespace_id   TEXT NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
  prompt         TEXT NOT NULL,
  schedule_type  TEXT NOT NULL CHECK (schedule_type IN ('cron', 'interval', 'once')),
  schedule_value TEXT NOT NULL,
  image          TEXT,  -- NULL: the namespace's default agent image
  timeout_secs   INTEGER NOT NULL DEFAULT 300 CHECK (timeout_secs > 0),
  context_mode   TEXT NOT NULL DEFAULT 'isolated' CHECK (context_mode IN ('group', 'isolated')),
  enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  next_run       INTEGER,  -- NULL: not scheduled (disabled, or a finished 'once')
  last_run       INTEGER,
  last_result    TEXT,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;
-- The scheduler's "what is due" query.
CREATE INDEX scheduled_tasks_due ON scheduled_tasks(enabled, next_run);
CREATE INDEX scheduled_tasks_by_namespace ON scheduled_tasks(namespace_id);

-- status: success | error | timeout.
CREATE TABLE task_runs (
  id          INTEGER PRIMARY KEY,
  task_id     TEXT NOT NULL REFERENCES scheduled_tasks(id) ON DELETE CASCADE,
  run_at      INTEGER NOT NULL,
  duration_ms INTEGER,
  status      TEXT NOT NULL,
  result      TEXT,
  error       TEXT
) STRICT;
CREATE INDEX task_runs_by_task ON task_runs(task_id, run_at);

-- Append-only and hash-chained (the AuditLog actor computes `hash` over prev_hash
-- and the row). The triggers make tampering through SQL a deliberate act (dropping
-- a trigger) rather than a stray UPDATE; the hash chain is what detects it.
CREATE TABLE audit_log (
  seq       INTEGER PRIMARY KEY,
  at        INTEGER NOT NULL,
  actor     TEXT NOT NULL,
  event     TEXT NOT NULL,
  subject   TEXT NOT NULL DEFAULT '',
  detail    TEXT NOT NULL DEFAULT '',  -- JSON object
  prev_hash BLOB NOT NULL,
  hash      BLOB NOT NULL
) STRICT;
CREATE INDEX audit_log_by_at ON audit_log(at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Vault entries, encrypted by the vault (libsodium); never stored in clear.
-- namespace_id NULL = available to every namespace the vault policy allows.
CREATE TABLE secrets (
  name         TEXT PRIMARY KEY,
  namespace_id TEXT REFERENCES namespaces(id) ON DELETE CASCADE,
  ciphertext   BLOB NOT NULL,
  nonce        BLOB NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX secrets_by_namespace ON secrets(namespace_id);
)sql";

// Channels: inbound_messages carries the whole normalised message (bot, reply
// references, flags) and dedupes per (channel, bot, platform id); the outbox knows its
// bot and records what the platform answered. Both tables had no writer before this
// version; they are rebuilt (copying rows) because SQLite cannot alter a UNIQUE key.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE inbound_messages_v2 (
  id                  INTEGER PRIMARY KEY,
  channel             TEXT NOT NULL,
  bot                 TEXT NOT NULL DEFAULT '',
  platform_message_id TEXT NOT NULL,
  chat_jid            TEXT NOT NULL,
  sender              TEXT NOT NULL DEFAULT '',
  sender_name         TEXT NOT NULL DEFAULT '',
  text                TEXT NOT NULL DEFAULT '',
  reply_ref           TEXT NOT NULL DEFAULT '',  -- Discord: the interaction token (15 min)
  message_ref         TEXT NOT NULL DEFAULT '',
  sent_at             INTEGER NOT NULL DEFAULT 0,  -- the platform's timestamp
  is_group            INTEGER NOT NULL DEFAULT 0 CHECK (is_group IN (0, 1)),
  mentions_bot        INTEGER NOT NULL DEFAULT 0 CHECK (mentions_bot IN (0, 1)),
  received_at         INTEGER NOT NULL,
  state               TEXT NOT NULL DEFAULT 'received',
  UNIQUE (channel, bot, platform_message_id)
) STRICT;
INSERT INTO inbound_messages_v2(id, channel, platform_message_id, chat_jid, sender, text, received_at, state)
  SELECT id, channel, platform_message_id, chat_jid, sender, text, received_at, state FROM inbound_messages;
DROP TABLE inbound_messages;
ALTER TABLE inbound_messages_v2 RENAME TO inbound_messages;
CREATE INDEX inbound_messages_by_state ON inbound_messages(state, id);

-- state: pending | sent | failed. One row per piece already split to the platform's
-- limit. reply_to: Slack thread_ts, Telegram message_id, WhatsApp message id, Discord
-- interaction token (follow-up).
CREATE TABLE outbox_v2 (
  id              INTEGER PRIMARY KEY,
  channel         TEXT NOT NULL,
  bot             TEXT NOT NULL DEFAULT '',
  chat_jid        TEXT NOT NULL,
  text            TEXT NOT NULL,
  reply_to        TEXT,
  state           TEXT NOT NULL DEFAULT 'pending',
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  delivered_id    TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
) STRICT;
INSERT INTO outbox_v2(id, channel, chat_jid, text, reply_to, state, attempts, next_attempt_at, last_error,
                      created_at, updated_at)
  SELECT id, channel, chat_jid, text, reply_to, state, attempts, next_attempt_at, last_error, created_at,
         updated_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v2 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(channel, bot, state, next_attempt_at);

-- Small per-bot state that must survive a restart (Telegram's getUpdates offset).
CREATE TABLE channel_state (
  channel    TEXT NOT NULL,
  bot        TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (channel, bot, key)
) STRICT;
)sql";

// Routing: namespaces gain the main flag, trigger rules, container config and an
// instructions file; sender allowlists per bot, the default policy, and the router's
// restart cursor per namespace. trigger '' means "the default (@<assistant>)".
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE namespaces ADD COLUMN is_main INTEGER NOT NULL DEFAULT 0 CHECK (is_main IN (0, 1));
ALTER TABLE namespaces ADD COLUMN trigger TEXT NOT NULL DEFAULT '';
ALTER TABLE namespaces ADD COLUMN requires_trigger INTEGER NOT NULL DEFAULT 1 CHECK (requires_trigger IN (0, 1));
ALTER TABLE namespaces ADD COLUMN container_config TEXT NOT NULL DEFAULT '{}';  -- JSON object
ALTER TABLE namespaces ADD COLUMN instructions_file TEXT NOT NULL DEFAULT '';
-- At most one main namespace.
CREATE UNIQUE INDEX namespaces_one_main ON namespaces(is_main) WHERE is_main = 1;

-- mode: everyone | list (senders: JSON array of platform sender ids).
CREATE TABLE sender_allowlists (
  channel    TEXT NOT NULL,
  bot        TEXT NOT NULL,
  mode       TEXT NOT NULL CHECK (mode IN ('everyone', 'list')),
  senders    TEXT NOT NULL DEFAULT '[]',
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (channel, bot)
) STRICT;

-- default_policy: ignore | namespace; default_namespace_id: a namespaces.id.
CREATE TABLE routing_settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

-- The last inbound_messages.id the router handed to each namespace.
CREATE TABLE namespace_cursors (
  namespace_id    TEXT PRIMARY KEY REFERENCES namespaces(id) ON DELETE CASCADE,
  last_inbound_id INTEGER NOT NULL DEFAULT 0
) STRICT;
)sql";

// Routing end to end: an outbox row may carry an idempotency key (a namespace's reply to
// a turn: replaying the turn after a crash enqueues nothing twice), and inbound rows
// record why they ended: state received | done (a turn finished) | dropped (drop_reason).
constexpr const char* kSchemaV4 = R"sql(
ALTER TABLE outbox ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX outbox_idempotency ON outbox(idempotency_key) WHERE idempotency_key IS NOT NULL;
ALTER TABLE inbound_messages ADD COLUMN drop_reason TEXT;
ALTER TABLE inbound_messages ADD COLUMN namespace_id TEXT;
)sql";

// Scheduled tasks get their product fields (time zone, catch-up, announce, retry,
// status, a pending run-now request, the interval grid's anchor) and timeout 0 (= no
// limit); a run row records what started it and its attempt. v1's tables had no
// writer; they are rebuilt with their rows. The old tables are renamed first so the
// run rows' foreign key follows them and no ON DELETE CASCADE fires on the copy.
constexpr const char* kSchemaV5 = R"sql(
ALTER TABLE task_runs RENAME TO task_runs_v1;
ALTER TABLE scheduled_tasks RENAME TO scheduled_tasks_v1;
DROP INDEX scheduled_tasks_due;
DROP INDEX scheduled_tasks_by_namespace;
DROP INDEX task_runs_by_task;

-- status: active | paused | completed | failed. next_run NULL: nothing planned (paused,
-- or a finished once). run_requested_at: a run-now request the scheduler has not
-- started yet. anchor_at: the grid origin of an interval (creation or schedule change).
CREATE TABLE scheduled_tasks (
  id                 TEXT PRIMARY KEY,
  name               TEXT NOT NULL,
  namespace_id       TEXT NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
  prompt             TEXT NOT NULL,
  schedule_type      TEXT NOT NULL CHECK (schedule_type IN ('cron', 'interval', 'once')),
  schedule_value     TEXT NOT NULL,
  time_zone          TEXT NOT NULL DEFAULT 'UTC',
  image              TEXT,  -- NULL: the namespace's default agent image
  timeout_secs       INTEGER NOT NULL DEFAULT 300 CHECK (timeout_secs >= 0),  -- 0: no limit
  context_mode       TEXT NOT NULL DEFAULT 'isolated' CHECK (context_mode IN ('group', 'isolated')),
  catch_up           TEXT NOT NULL DEFAULT 'once' CHECK (catch_up IN ('once', 'skip')),
  announce_jid       TEXT,
  retry_max_attempts INTEGER NOT NULL DEFAULT 0 CHECK (retry_max_attempts >= 0),  -- 0: no retry
  retry_backoff_ms   INTEGER NOT NULL DEFAULT 0 CHECK (retry_backoff_ms >= 0),
  status             TEXT NOT NULL DEFAULT 'active',
  anchor_at          INTEGER NOT NULL,
  next_run           INTEGER,
  run_requested_at   INTEGER,
  last_run           INTEGER,
  last_result        TEXT,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL
) STRICT;
INSERT INTO scheduled_tasks(id, name, namespace_id, prompt, schedule_type, schedule_value, image, timeout_secs,
                            context_mode, status, anchor_at, next_run, last_run, last_result, created_at, updated_at)
  SELECT id, name, namespace_id, prompt, schedule_type, schedule_value, image, timeout_secs, context_mode,
         CASE WHEN enabled = 1 THEN 'active' ELSE 'paused' END, created_at, next_run, last_run, last_result,
         created_at, updated_at FROM scheduled_tasks_v1;
-- The scheduler's "what is due" query.
CREATE INDEX scheduled_tasks_due ON scheduled_tasks(status, next_run);
CREATE INDEX scheduled_tasks_requested ON scheduled_tasks(run_requested_at) WHERE run_requested_at IS NOT NULL;
CREATE INDEX scheduled_tasks_by_namespace ON scheduled_tasks(namespace_id);

-- trigger: schedule | manual | retry. status: running | success | error | timeout.
CREATE TABLE task_runs (
  id          INTEGER PRIMARY KEY,
  task_id     TEXT NOT NULL REFERENCES scheduled_tasks(id) ON DELETE CASCADE,
  trigger     TEXT NOT NULL DEFAULT 'schedule',
  attempt     INTEGER NOT NULL DEFAULT 1,
  run_at      INTEGER NOT NULL,
  duration_ms INTEGER,
  status      TEXT NOT NULL,
  result      TEXT,
  error       TEXT
) STRICT;
INSERT INTO task_runs(id, task_id, run_at, duration_ms, status, result, error)
  SELECT id, task_id, run_at, duration_ms, status, result, error FROM task_runs_v1;
CREATE INDEX task_runs_by_task ON task_runs(task_id, run_at);
DROP TABLE task_runs_v1;
DROP TABLE scheduled_tasks_v1;
)sql";

// The scheduler asks "has this task a run going?" for every planned task (due,
// planned_runs, earliest_next_run, each start): one probe in this index, not a scan of
// the task's whole run log.
constexpr const char* kSchemaV6 = R"sql(
CREATE INDEX task_runs_running ON task_runs(task_id) WHERE status = 'running';
)sql";

// Each namespace's host id range (docs/security.md "Container confinement"): slot N is host
// ids userns_base + N * userns_size onwards. Slots come from AUTOINCREMENT, so none is ever
// handed out twice, not even after its namespace is deleted (its files may still be on
// disk, owned by its ids); that is also why there is no foreign key. Slot 0 is never
// given to a namespace (runs without one, cowork, use it). The trigger gives every new
// namespace its slot in the transaction that creates it; existing ones get theirs here,
// oldest first.
constexpr const char* kSchemaV7 = R"sql(
CREATE TABLE IF NOT EXISTS namespace_id_ranges (
  slot         INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_id TEXT NOT NULL UNIQUE
) STRICT;
INSERT OR IGNORE INTO namespace_id_ranges(namespace_id) SELECT id FROM namespaces ORDER BY created_at, id;
CREATE TRIGGER IF NOT EXISTS namespaces_id_range AFTER INSERT ON namespaces BEGIN
  INSERT OR IGNORE INTO namespace_id_ranges(namespace_id) VALUES (NEW.id);
END;
)sql";

// Exactly-once replies across a crash (docs/failure-behaviour.md): attempt_started_at is
// committed before a row's request goes out and cleared with its outcome, so a row left
// with it set was perhaps delivered (the crash fell between the platform's answer and
// the broker's record). The sender's query takes each chat's due head rows by this index.
constexpr const char* kSchemaV8 = R"sql(
ALTER TABLE outbox ADD COLUMN attempt_started_at INTEGER;
CREATE INDEX outbox_pending_chat ON outbox(channel, bot, chat_jid, id) WHERE state = 'pending';
)sql";

// Exactly-once replies across a crash, the inbound side: a turn's boundary (its last
// inbound id) is stored on its rows before it goes to the agent, so a replay forms the
// same batch and its replies keep their idempotency keys (namespace:last_id:n).
constexpr const char* kSchemaV9 = R"sql(
ALTER TABLE inbound_messages ADD COLUMN turn_last_id INTEGER;
)sql";

// Per-namespace agent settings (docs/namespaces.md "Agent settings"): agent_config holds
// only the fields a namespace chose (JSON object; absent = the node's [container] default,
// so a node change still reaches it), instructions the group's instructions text.
constexpr const char* kSchemaV10 = R"sql(
ALTER TABLE namespaces ADD COLUMN agent_config TEXT NOT NULL DEFAULT '{}';
ALTER TABLE namespaces ADD COLUMN instructions TEXT NOT NULL DEFAULT '';
)sql";

// container_runs gets an explicit insertion order. The listing ordered by SQLite's implicit
// rowid (the key is a text id), which PostgreSQL does not have; seq is a column both
// engines share (on PostgreSQL an identity column). Existing rows keep their rowid order;
// the trigger numbers each new row with its rowid, so seq stays unique and increasing.
constexpr const char* kSchemaV11 = R"sql(
ALTER TABLE container_runs ADD COLUMN seq INTEGER;
UPDATE container_runs SET seq = rowid;
CREATE UNIQUE INDEX container_runs_by_seq ON container_runs(seq);
CREATE TRIGGER container_runs_seq AFTER INSERT ON container_runs WHEN NEW.seq IS NULL BEGIN
  UPDATE container_runs SET seq = NEW.rowid WHERE rowid = NEW.rowid;
END;
)sql";

// A cluster of nodes sharing one PostgreSQL (docs/storage-postgres.md, "Cluster tables"):
// who is a member, who holds which lease (the epoch is the fencing token, checked by
// GroupCommitter for a fenced WriteOp), and the vault's check value, so that a node with
// another vault key is refused at open even while no secret exists. Times: unix ms.
constexpr const char* kSchemaV12 = R"sql(
CREATE TABLE cluster_members (
  name                  TEXT PRIMARY KEY,
  advertise             TEXT NOT NULL DEFAULT '',
  incarnation           TEXT NOT NULL,
  capacity              INTEGER NOT NULL DEFAULT 0,
  heartbeat_interval_ms INTEGER NOT NULL DEFAULT 0,
  connection_timeout_ms INTEGER NOT NULL DEFAULT 0,
  state                 TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'draining')),
  started_at            INTEGER NOT NULL,
  renewed_at            INTEGER NOT NULL,
  expires_at            INTEGER NOT NULL
) STRICT;

-- resource: 'ns:<uuid>', 'bot:slack/main', ... The row outlives a release (expires_at is
-- set to the past) so that the next holder's epoch is always higher.
CREATE TABLE cluster_leases (
  resource    TEXT PRIMARY KEY,
  holder      TEXT NOT NULL,
  epoch       INTEGER NOT NULL CHECK (epoch >= 1),
  acquired_at INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX cluster_leases_by_holder ON cluster_leases(holder);

-- Facts every node of the cluster must agree on (the CA's fingerprint), first writer wins.
CREATE TABLE cluster_settings (
  name       TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

-- One row: a fixed plaintext sealed under the vault key (vault_store.cpp).
CREATE TABLE vault_check (
  id         TEXT PRIMARY KEY CHECK (id = 'vault'),
  ciphertext BLOB NOT NULL,
  nonce      BLOB NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
)sql";

constexpr std::array kMigrations{
    Migration{1, "initial schema", kSchemaV1},
    Migration{2, "channels: inbound messages, outbox, channel state", kSchemaV2},
    Migration{3, "routing: namespace settings, sender allowlists, routing settings, cursors", kSchemaV3},
    Migration{4, "routing end to end: outbox idempotency keys, inbound outcome", kSchemaV4},
    Migration{5, "scheduled tasks: time zone, catch-up, announce, retry, status, run requests", kSchemaV5},
    Migration{6, "scheduled tasks: index of the runs going", kSchemaV6},
    Migration{7, "containers: one host id range per namespace", kSchemaV7},
    Migration{8, "outbox: attempts in flight, pending rows by chat", kSchemaV8},
    Migration{9, "inbound: the boundary of the turn a message went to", kSchemaV9},
    Migration{10, "namespaces: agent settings and instructions", kSchemaV10},
    Migration{11, "container runs: an explicit insertion order", kSchemaV11},
    Migration{12, "cluster: members, leases, vault check value", kSchemaV12},
};
static_assert(kMigrations.size() == kSchemaVersion, "kSchemaVersion must equal the number of migrations");

constexpr bool versions_are_sequential() {
  for (size_t i = 0; i < kMigrations.size(); ++i) {
    if (kMigrations[i].version != static_cast<int>(i) + 1) return false;
  }
  return true;
}
static_assert(versions_are_sequential(), "migration versions must be 1, 2, 3, ...");

Error too_new(int found) {
  return make_error("storage.schema_too_new", "database schema version " + std::to_string(found) +
                                                  " is newer than this build supports (version " +
                                                  std::to_string(kSchemaVersion) +
                                                  "); refusing to use it. Run a squadbox build that supports "
                                                  "it, or restore a backup made by this version.");
}

// PostgreSQL keeps the version in the one-row table squadbox_schema (schema_postgres.hpp);
// a schema without it is empty (version 0). to_regclass looks in the search_path, which is
// the configured schema.
int postgres_schema_version_of(Database& db) {
  auto exists = db.prepare("SELECT CASE WHEN to_regclass('squadbox_schema') IS NULL THEN 0 ELSE 1 END");
  if (!exists) return -1;
  auto row = exists->step();
  if (!row || !*row) return -1;
  if (exists->column_int64(0) == 0) return 0;
  auto stmt = db.prepare(kPostgresReadVersion);
  if (!stmt) return -1;
  row = stmt->step();
  if (!row) return -1;
  return *row ? static_cast<int>(stmt->column_int64(0)) : 0;
}

// The runner schema_postgres.hpp describes: one transaction, under an advisory lock that
// serialises nodes starting together on one schema; the version is read under the lock, so
// the second node sees the first one's work and runs nothing.
Status migrate_postgres(Database& db) {
  const int newest = postgres_schema_version();
  const int before = postgres_schema_version_of(db);  // no lock yet: refuse early, write nothing
  if (before < 0) return make_error("storage.schema_unreadable", "cannot read squadbox_schema.version");
  if (before > newest) return too_new(before);
  auto tx = Transaction::begin(db);
  if (!tx) return tx.error();
  if (auto st = db.exec(kPostgresMigrationLock); !st) return st.error();
  if (auto st = db.exec(kPostgresVersionTable); !st) return st.error();
  const int current = postgres_schema_version_of(db);
  if (current < 0) return make_error("storage.schema_unreadable", "cannot read squadbox_schema.version");
  if (current > newest) return too_new(current);
  for (const PostgresMigration& m : postgres_migrations()) {
    if (m.version <= current) continue;
    if (auto st = db.exec(m.sql); !st) {
      return make_error(st.error().code, "migration " + std::to_string(m.version) + " (" + m.description +
                                             ") failed: " + st.error().message);
    }
    auto set = db.prepare(kPostgresSetVersion);
    if (!set) return set.error();
    if (auto st = set->bind(1, m.version); !st) return st.error();
    if (auto st = set->step(); !st) return st.error();
    log::info("storage.migrated", {{"path", db.path()}, {"version", m.version}, {"description", m.description}});
  }
  return tx->commit();
}

}  // namespace

std::vector<std::string_view> migration_scripts() {
  std::vector<std::string_view> out;
  for (const Migration& m : kMigrations) out.emplace_back(m.sql);
  return out;
}

int schema_version(Database& db) {
  if (db.engine() == Engine::postgres) return postgres_schema_version_of(db);
  auto stmt = db.prepare("PRAGMA user_version");
  if (!stmt) return -1;
  auto row = stmt->step();
  if (!row || !*row) return -1;
  return static_cast<int>(stmt->column_int64(0));
}

Status migrate(Database& db) {
  if (db.engine() == Engine::postgres) return migrate_postgres(db);
  const int initial = schema_version(db);
  if (initial < 0) return make_error("storage.schema_unreadable", "cannot read PRAGMA user_version");
  if (initial > kSchemaVersion) return too_new(initial);  // checked before any write

  for (const Migration& m : kMigrations) {
    if (m.version <= initial) continue;
    auto tx = Transaction::begin(db, /*immediate=*/true);
    if (!tx) return tx.error();
    // Re-read under the write lock: another process may have migrated meanwhile.
    const int current = schema_version(db);
    if (current > kSchemaVersion) return too_new(current);
    if (current >= m.version) continue;  // tx destructor ends the empty transaction
    if (auto st = db.exec(m.sql); !st) {
      return make_error(st.error().code, "migration " + std::to_string(m.version) + " (" + m.description +
                                             ") failed: " + st.error().message);
    }
    // user_version is in the database header, so it commits atomically with the DDL.
    if (auto st = db.exec("PRAGMA user_version = " + std::to_string(m.version)); !st) {
      return st.error();
    }
    if (auto st = tx->commit(); !st) return st.error();
    log::info("storage.migrated", {{"path", db.path()}, {"version", m.version}, {"description", m.description}});
  }
  return {};
}

}  // namespace sb::storage
