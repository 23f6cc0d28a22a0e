#include "storage/cluster_store.hpp"

#include <algorithm>

#include "storage/error_codes.hpp"

namespace sb::storage {

namespace {

// clock_timestamp(), not now(): now() is the transaction's start, which a long
// transaction would keep in the past.
constexpr const char* kPostgresNow = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
// julianday('now') has millisecond resolution; 2440587.5 is the Julian day of 1970-01-01.
constexpr const char* kSqliteNow = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

// `sql` with every "{now}" replaced by the engine's clock expression.
std::string with_now(std::string sql, const std::string& now) {
  constexpr std::string_view token = "{now}";
  for (size_t at = sql.find(token); at != std::string::npos; at = sql.find(token, at + now.size()))
    sql.replace(at, token.size(), now);
  return sql;
}

Status positive_ttl(int64_t ttl_ms) {
  if (ttl_ms <= 0) return make_error("invalid_field", "ttl_ms: must be positive, got " + std::to_string(ttl_ms));
  return {};
}

Status known_state(std::string_view state) {
  if (state != kMemberActive && state != kMemberDraining)
    return make_error("invalid_field", "state: must be 'active' or 'draining', got '" + std::string(state) + "'");
  return {};
}

// Binds texts and integers in order to ?1, ?2, ...
struct Binder {
  explicit Binder(Statement& s) : stmt(s) {}
  Statement& stmt;
  int next = 1;
  Status status;
  Binder& operator()(std::string_view v) {
    if (status) status = stmt.bind(next++, v);
    return *this;
  }
  Binder& operator()(int64_t v) {
    if (status) status = stmt.bind(next++, v);
    return *this;
  }
};

// Reads the columns resource, holder, epoch, acquired_at, expires_at[, now].
LeaseRow lease_of(Statement& s, bool has_now) {
  LeaseRow l;
  l.resource = s.column_text(0);
  l.holder = s.column_text(1);
  l.epoch = s.column_int64(2);
  l.acquired_at_ms = s.column_int64(3);
  l.expires_at_ms = s.column_int64(4);
  l.live = has_now ? l.expires_at_ms > s.column_int64(5) : true;
  return l;
}

Result<std::vector<LeaseRow>> read_leases(Statement& stmt, bool has_now) {
  std::vector<LeaseRow> out;
  for (;;) {
    auto row = stmt.step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(lease_of(stmt, has_now));
  }
  return out;
}

}  // namespace

const char* db_now_sql(Engine engine) {
  return engine == Engine::postgres ? kPostgresNow : kSqliteNow;
}

const std::string& fence_check_sql(Engine engine) {
  static const std::string sqlite =
      with_now("SELECT 1 FROM cluster_leases WHERE resource = ?1 AND holder = ?2 AND epoch = ?3 AND expires_at > {now}",
               kSqliteNow);
  static const std::string postgres = with_now(
      "SELECT 1 FROM cluster_leases WHERE resource = ?1 AND holder = ?2 AND epoch = ?3 AND expires_at > {now} "
      "FOR SHARE",
      kPostgresNow);
  return engine == Engine::postgres ? postgres : sqlite;
}

Error fenced_error(const Fence& fence) {
  return make_error(std::string(kFenced), "lease " + fence.resource + " is no longer held by " + fence.holder +
                                              " at epoch " + std::to_string(fence.epoch) +
                                              " (taken over or expired); the write was refused");
}

ClusterStore::ClusterStore(Database& db) : db_(&db), now_(db_now_sql(db.engine())) {}

Result<int64_t> ClusterStore::db_now_ms() {
  auto stmt = db_->prepare(with_now("SELECT {now}", now_));
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return make_error("storage.no_row", "the clock query returned no row");
  return stmt->column_int64(0);
}

Status ClusterStore::upsert_member(const MemberRow& m, int64_t ttl_ms) {
  if (m.name.empty()) return make_error("invalid_field", "name: must not be empty");
  if (m.incarnation.empty()) return make_error("invalid_field", "incarnation: must not be empty");
  if (auto st = known_state(m.state); !st) return st;
  if (auto st = positive_ttl(ttl_ms); !st) return st;
  auto stmt = db_->prepare(
      with_now("INSERT INTO cluster_members(name, advertise, incarnation, capacity, heartbeat_interval_ms, "
               "connection_timeout_ms, state, started_at, renewed_at, expires_at) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, {now}, {now}, {now} + ?8) "
               "ON CONFLICT (name) DO UPDATE SET advertise = excluded.advertise, incarnation = excluded.incarnation, "
               "capacity = excluded.capacity, heartbeat_interval_ms = excluded.heartbeat_interval_ms, "
               "connection_timeout_ms = excluded.connection_timeout_ms, state = excluded.state, "
               "started_at = excluded.started_at, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at",
               now_));
  if (!stmt) return stmt.error();
  Binder b(*stmt);
  b(m.name)(m.advertise)(m.incarnation)(m.capacity)(m.heartbeat_interval_ms)(m.connection_timeout_ms)(m.state)(ttl_ms);
  if (!b.status) return b.status;
  if (auto row = stmt->step(); !row) return row.error();
  return {};
}

Result<bool> ClusterStore::renew_member(std::string_view name, std::string_view incarnation, int64_t ttl_ms) {
  if (auto st = positive_ttl(ttl_ms); !st) return st.error();
  auto stmt =
      db_->prepare(with_now("UPDATE cluster_members SET renewed_at = {now}, expires_at = {now} + ?3 "
                            "WHERE name = ?1 AND incarnation = ?2",
                            now_));
  if (!stmt) return stmt.error();
  Binder b(*stmt);
  b(name)(incarnation)(ttl_ms);
  if (!b.status) return b.status.error();
  if (auto row = stmt->step(); !row) return row.error();
  return db_->changes() > 0;
}

Result<std::vector<MemberView>> ClusterStore::members() {
  auto stmt = db_->prepare(
      with_now("SELECT name, advertise, incarnation, capacity, heartbeat_interval_ms, connection_timeout_ms, state, "
               "started_at, renewed_at, expires_at, {now} FROM cluster_members ORDER BY name",
               now_));
  if (!stmt) return stmt.error();
  std::vector<MemberView> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    MemberView v;
    v.member.name = stmt->column_text(0);
    v.member.advertise = stmt->column_text(1);
    v.member.incarnation = stmt->column_text(2);
    v.member.capacity = stmt->column_int64(3);
    v.member.heartbeat_interval_ms = stmt->column_int64(4);
    v.member.connection_timeout_ms = stmt->column_int64(5);
    v.member.state = stmt->column_text(6);
    v.started_at_ms = stmt->column_int64(7);
    v.renewed_at_ms = stmt->column_int64(8);
    v.expires_at_ms = stmt->column_int64(9);
    const int64_t now = stmt->column_int64(10);
    v.live = v.expires_at_ms > now;
    v.lease_age_ms = now - v.renewed_at_ms;
    out.push_back(std::move(v));
  }
  return out;
}

Result<bool> ClusterStore::set_member_state(std::string_view name, std::string_view state) {
  if (auto st = known_state(state); !st) return st.error();
  auto stmt = db_->prepare("UPDATE cluster_members SET state = ?2 WHERE name = ?1");
  if (!stmt) return stmt.error();
  Binder b(*stmt);
  b(name)(state);
  if (!b.status) return b.status.error();
  if (auto row = stmt->step(); !row) return row.error();
  return db_->changes() > 0;
}

Result<bool> ClusterStore::remove_member(std::string_view name, std::string_view incarnation) {
  auto stmt = db_->prepare("DELETE FROM cluster_members WHERE name = ?1 AND incarnation = ?2");
  if (!stmt) return stmt.error();
  Binder b(*stmt);
  b(name)(incarnation);
  if (!b.status) return b.status.error();
  if (auto row = stmt->step(); !row) return row.error();
  return db_->changes() > 0;
}

Result<std::string> ClusterStore::claim_setting(std::string_view name, std::string_view value) {
  {
    auto insert =
        db_->prepare(with_now("INSERT INTO cluster_settings(name, value, created_at) VALUES (?1, ?2, {now}) "
                              "ON CONFLICT (name) DO NOTHING",
                              now_));
    if (!insert) return insert.error();
    Binder b(*insert);
    b(name)(value);
    if (!b.status) return b.status.error();
    if (auto row = insert->step(); !row) return row.error();
  }
  auto read = db_->prepare("SELECT value FROM cluster_settings WHERE name = ?1");
  if (!read) return read.error();
  Binder b(*read);
  b(name);
  if (!b.status) return b.status.error();
  auto row = read->step();
  if (!row) return row.error();
  if (!*row) return make_error("storage.missing", "cluster setting " + std::string(name) + " vanished");
  return read->column_text(0);
}

Result<std::vector<LeaseRow>> ClusterStore::leases() {
  auto stmt = db_->prepare(with_now(
      "SELECT resource, holder, epoch, acquired_at, expires_at, {now} FROM cluster_leases ORDER BY resource", now_));
  if (!stmt) return stmt.error();
  return read_leases(*stmt, /*has_now=*/true);
}

// One statement. An absent row is inserted with epoch 1. A present one is updated only if
// the WHERE holds: it is ours, or it has expired. On PostgreSQL (READ COMMITTED) ON
// CONFLICT DO UPDATE locks the conflicting row first (waiting for a concurrent acquirer or
// a fenced writer's FOR SHARE), then evaluates the WHERE on the row's newest committed
// version; a concurrent insert of the same resource makes the later one take the conflict
// path. So of two racing callers exactly one gets a row back. In SET, every column names
// the row as it was before this update.
Result<std::optional<int64_t>> ClusterStore::acquire(std::string_view resource, std::string_view holder,
                                                     int64_t ttl_ms) {
  if (resource.empty() || holder.empty()) return make_error("invalid_field", "resource and holder: must not be empty");
  if (auto st = positive_ttl(ttl_ms); !st) return st.error();
  auto stmt = db_->prepare(
      with_now("INSERT INTO cluster_leases(resource, holder, epoch, acquired_at, expires_at) "
               "VALUES (?1, ?2, 1, {now}, {now} + ?3) "
               "ON CONFLICT (resource) DO UPDATE SET "
               "epoch = CASE WHEN cluster_leases.holder = excluded.holder AND cluster_leases.expires_at > {now} "
               "THEN cluster_leases.epoch ELSE cluster_leases.epoch + 1 END, "
               "acquired_at = CASE WHEN cluster_leases.holder = excluded.holder AND cluster_leases.expires_at > {now} "
               "THEN cluster_leases.acquired_at ELSE excluded.acquired_at END, "
               "holder = excluded.holder, expires_at = excluded.expires_at "
               "WHERE cluster_leases.holder = excluded.holder OR cluster_leases.expires_at <= {now} "
               "RETURNING epoch",
               now_));
  if (!stmt) return stmt.error();
  Binder b(*stmt);
  b(resource)(holder)(ttl_ms);
  if (!b.status) return b.status.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<int64_t>{};
  const int64_t epoch = stmt->column_int64(0);
  // Step to the end: SQLite finishes an UPSERT ... RETURNING only then.
  if (auto done = stmt->step(); !done) return done.error();
  return std::optional<int64_t>(epoch);
}

Result<std::vector<LeaseRow>> ClusterStore::renew_all(std::string_view holder, int64_t ttl_ms) {
  if (auto st = positive_ttl(ttl_ms); !st) return st.error();
  auto stmt = db_->prepare(
      with_now("UPDATE cluster_leases SET expires_at = {now} + ?2 WHERE holder = ?1 AND expires_at > {now} "
               "RETURNING resource, holder, epoch, acquired_at, expires_at",
               now_));
  if (!stmt) return stmt.error();
  Binder b(*stmt);
  b(holder)(ttl_ms);
  if (!b.status) return b.status.error();
  auto out = read_leases(*stmt, /*has_now=*/false);
  if (!out) return out.error();
  std::sort(out->begin(), out->end(), [](const LeaseRow& a, const LeaseRow& z) { return a.resource < z.resource; });
  return out;
}

Result<bool> ClusterStore::release(std::string_view resource, std::string_view holder, int64_t epoch) {
  // expires_at = now: free at once (acquire takes a row with expires_at <= now).
  auto stmt =
      db_->prepare(with_now("UPDATE cluster_leases SET expires_at = {now} "
                            "WHERE resource = ?1 AND holder = ?2 AND epoch = ?3 AND expires_at > {now}",
                            now_));
  if (!stmt) return stmt.error();
  Binder b(*stmt);
  b(resource)(holder)(epoch);
  if (!b.status) return b.status.error();
  if (auto row = stmt->step(); !row) return row.error();
  return db_->changes() > 0;
}

}  // namespace sb::storage
