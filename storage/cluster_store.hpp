#pragma once
// The cluster's shared state in the database (issue 18; docs/storage-postgres.md, "Cluster
// tables"): who is a member (cluster_members) and who holds which lease
// (cluster_leases). A lease's epoch is the fencing token: a WriteOp carrying a Fence
// (sql_value.hpp) commits only while its lease is still (resource, holder, epoch) and live.
//
// Every expiry is judged by the DATABASE clock (PostgreSQL's clock_timestamp(), SQLite's
// local clock), never the caller's, so nodes with skewed clocks agree on who holds what.
// Each call is one statement in autocommit; acquire() is a compare-and-set that stays
// race-free under concurrent callers on PostgreSQL (INSERT ... ON CONFLICT DO UPDATE ...
// WHERE locks the row and re-checks the condition on its newest version).
//
// Not thread-safe: one ClusterStore per connection (the Database is single-user).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"
#include "storage/sql_value.hpp"
#include "storage/sqlite.hpp"

namespace sb::storage {

// The database clock as unix epoch milliseconds, as an SQL expression of `engine`.
const char* db_now_sql(Engine engine);
// A query with a row iff cluster_leases has (?1 resource, ?2 holder, ?3 epoch) unexpired:
// the fence check of the SQLite GroupCommitter (PostgreSQL runs sb_fence() instead).
const std::string& fence_check_sql(Engine engine);
// The "cluster.fenced" error for `fence`.
Error fenced_error(const Fence& fence);

inline constexpr std::string_view kMemberActive = "active";
inline constexpr std::string_view kMemberDraining = "draining";

// A node's registration. started_at, renewed_at and expires_at come from the database.
struct MemberRow {
  std::string name;
  std::string advertise;    // the address other nodes reach it at
  std::string incarnation;  // new at every process start: tells two processes of one name apart
  int64_t capacity = 0;
  int64_t heartbeat_interval_ms = 0;
  int64_t connection_timeout_ms = 0;
  std::string state = std::string(kMemberActive);
};

struct MemberView {
  MemberRow member;
  int64_t started_at_ms = 0;
  int64_t renewed_at_ms = 0;
  int64_t expires_at_ms = 0;
  bool live = false;         // expires_at > database now
  int64_t lease_age_ms = 0;  // database now - renewed_at
};

struct LeaseRow {
  std::string resource;
  std::string holder;
  int64_t epoch = 0;
  int64_t acquired_at_ms = 0;
  int64_t expires_at_ms = 0;
  bool live = false;  // expires_at > database now (when read)
};

class ClusterStore {
 public:
  // `db` must be migrated and outlive the store.
  explicit ClusterStore(Database& db);

  Result<int64_t> db_now_ms();

  // Registers the node at start, or re-registers it: every field of `row` replaces the
  // stored one, started_at = renewed_at = now, expires_at = now + ttl_ms. Errors:
  // invalid_field (empty name or incarnation, unknown state, ttl_ms <= 0), engine codes.
  Status upsert_member(const MemberRow& row, int64_t ttl_ms);
  // The heartbeat: renewed_at = now, expires_at = now + ttl_ms. false when no row has this
  // name AND incarnation: another process registered under the name (or the row is gone);
  // the caller is no longer the member and must not act as it.
  Result<bool> renew_member(std::string_view name, std::string_view incarnation, int64_t ttl_ms);
  // Every member, by name, expired ones included (live == false).
  Result<std::vector<MemberView>> members();
  // Drain (kMemberDraining) or back to kMemberActive. false: no such member. Error
  // invalid_field for another state.
  Result<bool> set_member_state(std::string_view name, std::string_view state);
  // Deregisters at a clean shutdown; false: the row was another incarnation's (or gone).
  Result<bool> remove_member(std::string_view name, std::string_view incarnation);

  // Every lease, by resource, expired ones included.
  Result<std::vector<LeaseRow>> leases();
  // Compare-and-set. The epoch when `holder` holds `resource` afterwards: 1 for a new
  // resource, the old epoch + 1 after an expired or released lease (whoever held it), the
  // same epoch with the expiry extended when `holder` already held it live. nullopt when
  // another holder's lease is live. Exactly one of concurrent callers wins.
  Result<std::optional<int64_t>> acquire(std::string_view resource, std::string_view holder, int64_t ttl_ms);
  // Extends every lease of `holder` that is still live, in one statement, and returns them
  // (by resource). An expired one is not renewed: another node may have taken it, or may
  // at any moment; its owner must acquire it again (and gets a new epoch).
  Result<std::vector<LeaseRow>> renew_all(std::string_view holder, int64_t ttl_ms);
  // Frees the lease at once if it is still (resource, holder, epoch); the row keeps its
  // epoch so the next acquire gets epoch + 1. false: it was not (taken over, or released).
  Result<bool> release(std::string_view resource, std::string_view holder, int64_t epoch);

  // A cluster-wide fact, first writer wins: stores `value` under `name` unless a value is
  // there, and returns the stored value (ours when we were first). A node compares it with
  // its own (e.g. its CA's fingerprint) to know whether it belongs.
  Result<std::string> claim_setting(std::string_view name, std::string_view value);

 private:
  Database* db_;
  std::string now_;  // db_now_sql(engine)
};

}  // namespace sb::storage
