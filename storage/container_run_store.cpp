#include "storage/container_run_store.hpp"

namespace sb::storage {

namespace {

std::optional<int64_t> optional_int(storage::Statement& s, int col) {
  if (s.column_is_null(col)) return std::nullopt;
  return s.column_int64(col);
}

}  // namespace

storage::WriteOp insert_container_run(const ContainerRunRow& run) {
  return {"INSERT INTO container_runs(id, namespace_id, kind, backend, image, state) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
          {SqlParam::of(run.id), SqlParam::of(run.namespace_id), SqlParam::of(run.kind), SqlParam::of(run.backend),
           SqlParam::of(run.image), SqlParam::of(run.state)}};
}

storage::WriteOp insert_run_transition(std::string_view run_id, std::string_view from_state, std::string_view to_state,
                                       int64_t at_ms, std::string_view reason) {
  return {"INSERT INTO container_run_transitions(run_id, from_state, to_state, at, reason) VALUES(?1, ?2, ?3, ?4, ?5)",
          {SqlParam::of(std::string(run_id)), SqlParam::of(std::string(from_state)),
           SqlParam::of(std::string(to_state)), SqlParam::of(at_ms), SqlParam::of(std::string(reason))}};
}

storage::WriteOp set_run_state(std::string_view run_id, std::string_view state, std::string_view error) {
  return {"UPDATE container_runs SET state = ?1, error = ?2 WHERE id = ?3",
          {SqlParam::of(std::string(state)), SqlParam::of(std::string(error)), SqlParam::of(std::string(run_id))}};
}

storage::WriteOp set_run_started(std::string_view run_id, int64_t started_at_ms, std::string_view backend) {
  return {"UPDATE container_runs SET started_at = coalesce(started_at, ?1), backend = ?2 WHERE id = ?3",
          {SqlParam::of(started_at_ms), SqlParam::of(std::string(backend)), SqlParam::of(std::string(run_id))}};
}

storage::WriteOp set_run_ended(std::string_view run_id, int64_t ended_at_ms, int64_t exit_code) {
  return {"UPDATE container_runs SET ended_at = ?1, exit_code = ?2 WHERE id = ?3",
          {SqlParam::of(ended_at_ms), SqlParam::of(exit_code), SqlParam::of(std::string(run_id))}};
}

Result<std::vector<ContainerRunRow>> list_container_runs(storage::Database& db,
                                                         const std::optional<std::string>& state) {
  std::string sql =
      "SELECT id, namespace_id, kind, backend, image, state, exit_code, started_at, ended_at, error "
      "FROM container_runs";
  if (state) sql += " WHERE state = ?1";
  // seq is the insertion order (migration 11): a column both engines have, where SQLite's
  // implicit rowid has no PostgreSQL counterpart.
  sql += " ORDER BY seq DESC LIMIT " + std::to_string(kContainerRunListLimit);
  auto stmt = db.prepare(sql);
  if (!stmt) return stmt.error();
  if (state)
    if (auto b = stmt->bind(1, std::string_view(*state)); !b) return b.error();
  std::vector<ContainerRunRow> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return out;
    ContainerRunRow r;
    r.id = stmt->column_text(0);
    r.namespace_id = stmt->column_text(1);
    r.kind = stmt->column_text(2);
    r.backend = stmt->column_text(3);
    r.image = stmt->column_text(4);
    r.state = stmt->column_text(5);
    r.exit_code = optional_int(*stmt, 6);
    r.started_at_ms = optional_int(*stmt, 7);
    r.ended_at_ms = optional_int(*stmt, 8);
    r.error = stmt->column_text(9);
    out.push_back(std::move(r));
  }
}

Result<std::vector<ContainerRunRow>> read_live_container_runs(storage::Database& db) {
  auto stmt = db.prepare(
      "SELECT id, coalesce(namespace_id, ''), kind, image FROM container_runs "
      "WHERE state IN ('starting', 'idle', 'running')");
  if (!stmt) return stmt.error();
  std::vector<ContainerRunRow> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return out;
    ContainerRunRow r;
    r.id = stmt->column_text(0);
    r.namespace_id = stmt->column_text(1);
    r.kind = stmt->column_text(2);
    r.image = stmt->column_text(3);
    out.push_back(std::move(r));
  }
}

Result<bool> is_live_cowork_run(storage::Database& db, std::string_view run_id) {
  auto stmt = db.prepare(
      "SELECT 1 FROM container_runs WHERE id = ?1 AND kind = 'cowork' "
      "AND state NOT IN ('exited', 'dead')");
  if (!stmt) return stmt.error();
  if (auto b = stmt->bind(1, run_id); !b) return b.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return *row;
}

Status close_gone_container_run(storage::Database& db, std::string_view run_id, int64_t ended_at_ms) {
  auto stmt = db.prepare(
      "UPDATE container_runs SET state = 'exited', error = 'broker restarted; "
      "container gone', ended_at = ?1 WHERE id = ?2");
  if (!stmt) return stmt.error();
  if (auto b = stmt->bind(1, ended_at_ms); !b) return b;
  if (auto b = stmt->bind(2, run_id); !b) return b;
  if (auto row = stmt->step(); !row) return row.error();
  return {};
}

}  // namespace sb::storage
