// Helper process for crash_test.cpp (not a test itself).
//
//   sb_storage_crash_child DB_PATH CHANNEL
//
// Opens and migrates DB_PATH, then commits batches of inbound_messages inserts
// forever through GroupCommitter. Only AFTER a batch's commit has returned does it
// write the acknowledged platform_message_ids (0, 1, 2, ...) to stdout, one per
// line, straight to fd 1 with write(2) (no stdio buffer that a kill would lose).
// The parent SIGKILLs it at an arbitrary moment and checks that every id it saw is
// in the database: "acknowledged" must mean "durable".
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "storage/group_committer.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"
#include "tests/storage/crash_batches.hpp"

namespace {

using sb::storage::SqlParam;
using sb::storage::WriteOp;

int fail(const std::string& what, int code) {
  std::fprintf(stderr, "sb_storage_crash_child: %s\n", what.c_str());
  return code;
}

bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

WriteOp insert(const std::string& channel, int64_t id) {
  return WriteOp{
      "INSERT INTO inbound_messages(channel, platform_message_id, chat_jid, sender, text,"
      " received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
      {SqlParam::of(channel), SqlParam::of(std::to_string(id)), SqlParam::of(std::string("tg:42")),
       SqlParam::of(std::string("crash-child")),
       SqlParam::of("message body " + std::to_string(id) + std::string(64, '.')),
       SqlParam::of(int64_t{1700000000000} + id)}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return fail("usage: sb_storage_crash_child DB_PATH CHANNEL", 2);
  const std::string channel = argv[2];

  auto db = sb::storage::Database::open(argv[1], sb::storage::OpenOptions{});
  if (!db) return fail("open: " + db.error().message, 2);
  if (auto st = sb::storage::migrate(*db); !st) return fail("migrate: " + st.error().message, 2);
  sb::storage::GroupCommitter committer(*db);

  // Varying batch sizes (1..500) move the kill point around inside batches.
  sb::storage::crash::BatchSizes sizes;
  int64_t next_id = 0;
  for (;;) {
    const int64_t size = sizes.next();
    std::vector<WriteOp> ops;
    ops.reserve(static_cast<size_t>(size) + 1);
    for (int64_t k = 0; k < size; ++k) ops.push_back(insert(channel, next_id + k));
    // A redelivery of the batch's first message: must fail alone (dedupe path).
    ops.push_back(insert(channel, next_id));

    const auto out = committer.commit_batch(ops);
    if (out.size() != ops.size()) return fail("outcome count mismatch", 3);
    std::string acked;
    for (int64_t k = 0; k < size; ++k) {
      const auto& o = out[static_cast<size_t>(k)];
      if (!o.ok) return fail("insert failed: " + o.error_code + " " + o.error_message, 3);
      acked += std::to_string(next_id + k);
      acked += '\n';
    }
    if (out.back().ok || out.back().error_code != "sqlite.constraint") {
      return fail("duplicate was not rejected: " + out.back().error_code, 3);
    }
    next_id += size;
    if (!write_all(STDOUT_FILENO, acked)) return fail("stdout closed", 4);
  }
}
