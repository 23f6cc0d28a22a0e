#pragma once
// The crash-safety harness shared by crash_test.cpp (SQLite) and crash_postgres_test.cpp
// (PostgreSQL): a writer process (sb_storage_crash_child) is SIGKILLed while committing
// batches through GroupCommitter; every id it acknowledged (printed only after its commit
// returned) must survive, and no batch may be stored in part. SIGKILL exercises process
// death: SQLite's WAL must keep committed transactions and drop the torn one; PostgreSQL
// must keep what it committed and roll back the transaction whose client died.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include <gtest/gtest.h>

#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"
#include "tests/storage/crash_batches.hpp"
#include "tests/support/storage_test_support.hpp"

namespace sb::storage::crash {

using Clock = std::chrono::steady_clock;

inline std::string child_binary() {
  const char* dir = std::getenv("SQUADBOX_BIN");
  const std::filesystem::path base =
      (dir && *dir) ? std::filesystem::path(dir) : std::filesystem::read_symlink("/proc/self/exe").parent_path();
  return (base / "sb_storage_crash_child").string();
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Owns a child pid: a test that bails out early still kills and reaps it.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  // SIGKILL and reap; returns the wait status.
  int kill_and_reap() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

// Appends complete lines from `buf` (keeping a partial tail in `pending`) as ids.
inline void take_lines(std::string& pending, const char* buf, size_t n, std::vector<int64_t>& ids) {
  pending.append(buf, n);
  size_t start = 0;
  for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
    ids.push_back(std::stoll(pending.substr(start, nl - start)));
  }
  pending.erase(0, start);
}

// Reads ids until `want` are seen (want < 0: until EOF) or the deadline passes.
// Returns false on EOF before `want`.
inline bool read_ids(int fd, std::string& pending, std::vector<int64_t>& ids, long want, Clock::time_point deadline) {
  char buf[65536];
  while (want < 0 || ids.size() < static_cast<size_t>(want)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      ADD_FAILURE() << "deadline passed with " << ids.size() << " ids";
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;  // timeout: re-checked above
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return want < 0;  // EOF (or error): the writer is gone
    take_lines(pending, buf, static_cast<size_t>(n), ids);
  }
  return true;
}

// Keeps consuming acks until `until` (a kill time, not a wait for a condition).
// Returns false if the child closed its end early.
inline bool read_until(int fd, std::string& pending, std::vector<int64_t>& ids, Clock::time_point until) {
  char buf[65536];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(until - Clock::now()).count();
    if (left <= 0) return true;
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>((left + 999) / 1000));
    if (r <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    take_lines(pending, buf, static_cast<size_t>(n), ids);
  }
}

// Kills the writer in kRounds rounds against `target` (a SQLite file or a PostgreSQL
// locator) and checks what survived. `engine_checks` runs after each round on the
// reopened database (the engine's own integrity checks).
inline void run_rounds(const std::string& target, const std::function<void(Database&)>& engine_checks) {
  const std::string& db_path = target;

  const std::string child = child_binary();
  ASSERT_TRUE(std::filesystem::exists(child)) << child << " (build sb_storage_crash_child)";

  // Several rounds against the same file: each round also proves that a DB
  // recovered from a kill accepts and keeps new writes. After enough acks the kill
  // lands a random 0-25 ms later, so over the rounds it hits every phase of the
  // child's loop: building a batch, inserting, fsync, writing acks.
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> kill_delay_us(0, 25000);
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + " seed " + std::to_string(seed));
    const std::string channel = "crash-" + std::to_string(round);
    const long want = 3000 + 1700L * round;

    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    Fd read_end(fds[0]);
    Fd write_end(fds[1]);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Child: only async-signal-safe calls until exec.
      ::dup2(write_end.get(), STDOUT_FILENO);  // dup2 clears O_CLOEXEC on fd 1
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);      // never outlive a crashed test
      if (::getppid() != parent) ::_exit(126);
      ::execl(child.c_str(), child.c_str(), db_path.c_str(), channel.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    Child guard(pid);
    write_end.reset();  // so EOF arrives once the child is dead

    std::vector<int64_t> acked;
    std::string pending;
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    bool alive = read_ids(read_end.get(), pending, acked, want, deadline);
    // Round 0 kills at once (right after an ack); the others at a random moment.
    if (alive && round > 0) {
      const auto kill_at = Clock::now() + std::chrono::microseconds(kill_delay_us(rng));
      alive = read_until(read_end.get(), pending, acked, kill_at);
    }
    const int status = guard.kill_and_reap();
    ASSERT_TRUE(alive) << "child stopped early after " << acked.size() << " ids";
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child exited on its own, status " << status;
    // Whatever it wrote before dying was acknowledged too: drain the pipe.
    ASSERT_TRUE(read_ids(read_end.get(), pending, acked, -1, Clock::now() + std::chrono::seconds(10)));

    // The ids are acknowledged in order 0, 1, 2, ... with no gaps.
    for (size_t i = 0; i < acked.size(); ++i) {
      ASSERT_EQ(acked[i], static_cast<int64_t>(i)) << "garbled ack stream";
    }

    auto db = test::open_db(db_path);
    ASSERT_TRUE(db);
    EXPECT_EQ(schema_version(*db), kSchemaVersion);
    engine_checks(*db);

    std::unordered_set<int64_t> stored;
    auto sel = db->prepare("SELECT CAST(platform_message_id AS INTEGER) FROM inbound_messages WHERE channel = ?1");
    ASSERT_TRUE(sel);
    ASSERT_TRUE(sel->bind(1, std::string_view(channel)));
    for (;;) {
      auto row = sel->step();
      ASSERT_TRUE(row) << row.error().message;
      if (!*row) break;
      stored.insert(sel->column_int64(0));
    }
    size_t missing = 0;
    for (int64_t id : acked) missing += stored.count(id) == 0 ? 1 : 0;
    EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged ids";
    EXPECT_GE(stored.size(), acked.size());
    // No batch in part: batches commit whole and in order, so what is stored is 0..n-1
    // and n ends a batch.
    int64_t max_id = -1;
    for (int64_t id : stored) max_id = std::max(max_id, id);
    EXPECT_EQ(static_cast<int64_t>(stored.size()), max_id + 1) << "stored ids with a gap";
    BatchSizes sizes;
    int64_t boundary = 0;
    while (boundary < static_cast<int64_t>(stored.size())) boundary += sizes.next();
    EXPECT_EQ(boundary, static_cast<int64_t>(stored.size())) << "a batch was stored in part";
    // stored > acknowledged: the kill fell between a COMMIT and its acks (allowed).
    std::cerr << "[ round " << round << " ] acknowledged " << acked.size() << ", stored " << stored.size() << "\n";
  }
}

}  // namespace sb::storage::crash
