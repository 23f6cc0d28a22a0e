#pragma once
// container_runs and container_run_transitions: one row per container run and its
// lifecycle steps. The container supervisor's writes are pure WriteOps for the storage
// writer (fixed SQL text: the writer reuses one prepared statement per kind); the admin
// listing, the cowork check and the start-up reconcile read (and close rows) on a
// connection of their own.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"
#include "storage/sql_value.hpp"
#include "storage/sqlite.hpp"

namespace sb::storage {

struct ContainerRunRow {
  std::string id;
  std::string namespace_id;  // "" when NULL (cowork runs)
  std::string kind;          // agent | scheduled | cowork
  std::string backend;       // oci | docker | apple
  std::string image;
  std::string state;  // the ContainerSupervisor lifecycle state
  std::optional<int64_t> exit_code;
  std::optional<int64_t> started_at_ms;
  std::optional<int64_t> ended_at_ms;
  std::string error;  // "" when NULL
};

// ---- the container supervisor's writes -------------------------------------------

// INSERT of a new run: id, namespace_id, kind, backend, image and state of `run` (the
// other fields start NULL).
storage::WriteOp insert_container_run(const ContainerRunRow& run);
// One lifecycle step of run `run_id`.
storage::WriteOp insert_run_transition(std::string_view run_id, std::string_view from_state, std::string_view to_state,
                                       int64_t at_ms, std::string_view reason);
// The run's current state and the reason it got there.
storage::WriteOp set_run_state(std::string_view run_id, std::string_view state, std::string_view error);
// A container started: started_at keeps the first start, backend the latest.
storage::WriteOp set_run_started(std::string_view run_id, int64_t started_at_ms, std::string_view backend);
storage::WriteOp set_run_ended(std::string_view run_id, int64_t ended_at_ms, int64_t exit_code);

// ---- reads ------------------------------------------------------------------------

inline constexpr int64_t kContainerRunListLimit = 500;

// The newest kContainerRunListLimit runs (by insertion), newest first; only those in
// `state` if given.
Result<std::vector<ContainerRunRow>> list_container_runs(storage::Database& db,
                                                         const std::optional<std::string>& state = std::nullopt);

// The runs the database knows as live (state starting, idle or running): id,
// namespace_id, kind and image filled in.
Result<std::vector<ContainerRunRow>> read_live_container_runs(storage::Database& db);

// true if `run_id` is a cowork run that has not ended (state not exited or dead).
Result<bool> is_live_cowork_run(storage::Database& db, std::string_view run_id);

// ---- start-up reconcile -----------------------------------------------------------

// Closes a live run whose container is gone after a broker restart: state 'exited',
// error "broker restarted; container gone", ended_at. Written directly on `db` (a
// read-write connection; the storage writer does not run yet).
Status close_gone_container_run(storage::Database& db, std::string_view run_id, int64_t ended_at_ms);

}  // namespace sb::storage
