#pragma once
// Group commit on PostgreSQL: a batch of parameterised writes as one transaction in one
// round trip, through libpq's pipeline mode. The counterpart of the SQLite
// GroupCommitter's commit_batch (storage/group_committer.hpp), with the same contract:
// every write gets its own outcome, a write that fails (a duplicate key) is reported and
// left out, the others commit together, and ok == true means committed and durable
// (synchronous_commit = on).
//
// How: the writes are sent back to back and followed by one Sync; between two Syncs the
// server runs them as one implicit transaction and commits at the Sync, so the batch
// costs one round trip and one WAL flush. If a write fails, the server skips the rest and
// rolls the transaction back; the failed write gets its error and the batch is sent again
// without it (one more round trip per failing write, the rare case: a redelivered
// webhook). An error that is not the write's own (lost connection, serialization failure)
// fails every write not yet committed. A batch holding a transaction statement (BEGIN,
// COMMIT, ROLLBACK, SAVEPOINT, ...) would not be one transaction: it fails whole with
// storage.batch_aborted before anything is sent, as the SQLite committer fails it.
//
// A fenced write (WriteOp::fence) is preceded in the pipeline by SELECT sb_fence(...): its
// lease row is locked FOR SHARE until the Sync's commit, and a stale lease fails the write
// on its own (SQLSTATE SBF01, "cluster.fenced") like any other failing write.
#include <vector>

#include "storage/postgres/pg_connection.hpp"
#include "storage/sql_value.hpp"

namespace sb::storage::pg {

// The ops' SQL uses SQLite placeholders (?1, ?2); what an op's rows return in column 0
// (INSERT ... RETURNING id) is its WriteOutcome::returned_ids. Must not be called inside an open transaction: the batch
// is its own transaction.
std::vector<WriteOutcome> run_batch(PgDatabase& db, const std::vector<WriteOp>& ops);

}  // namespace sb::storage::pg
