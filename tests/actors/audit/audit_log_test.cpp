// The audit log actor appends hash-chained records through the storage writer: the
// chain it writes verifies with the store's verifier.
#include "actors/audit/audit_log.hpp"

#include <algorithm>
#include <deque>

#include <gtest/gtest.h>

#include "actors/node/node.hpp"
#include "actors/storage/storage_writer.hpp"
#include "actors/supervision/supervisor.hpp"
#include "storage/audit_store.hpp"
#include "storage/migrations.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;

// The real audit log actor and the verifier agree on the chain.
TEST(AuditLog, AChainWrittenByTheAuditLogActorVerifies) {
  sb::test::TempDir dir;
  sb::config::Config c;
  c.node.data_dir = dir.path();
  {
    auto db = sb::storage::Database::open(c.storage_path(), {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(sb::storage::migrate(*db).ok());
  }
  std::string last_hex;
  {
    sb::test::ActorSystemFixture fx;
    caf::scoped_actor self{fx.system};
    auto root = sb::actors::spawn_node(fx.system, {c, nullptr, {}, {}, {}, {}});
    sb::actors::audit_log_actor audit;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!audit && std::chrono::steady_clock::now() < deadline) {
      self->request(root, 5s, sb::actors::status_atom::value)
          .receive([](const sb::actors::supervisor_status&) {}, [](caf::error&) {});
      audit = sb::actors::lookup<sb::actors::audit_log_actor>(fx.system, "audit");
    }
    ASSERT_TRUE(audit);
    for (int i = 0; i < 50; ++i) {
      self->request(audit, 10s, sb::actors::append_atom::value,
                    sb::AuditRecord{"test", "event." + std::to_string(i), "s",
                                    R"({"namespace":"main","i":)" + std::to_string(i) + "}"})
          .receive([&](const sb::actors::audit_receipt& r) { last_hex = r.hash_hex; },
                   [&](caf::error& e) { ADD_FAILURE() << fx.system.render(e); });
    }
    self->request(root, 10s, sb::actors::shutdown_atom::value).receive([](bool) {}, [](caf::error&) {});
  }
  auto verified = sb::storage::verify_database(c.storage_path());
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  const auto& r = *verified;
  EXPECT_FALSE(r.fault.has_value()) << r.fault->reason;
  EXPECT_GE(r.records, 50u);  // the node may audit its own start too
  EXPECT_EQ(sb::security::audit::to_hex(r.head), last_hex);
}

// A storage writer in front of the real one that fails the first audit batch (like
// SQLITE_FULL or BUSY) and holds the second past the audit actor's write timeout before
// committing it late, keeping the writer's order (what a stalled disk does).
caf::behavior audit_test_flaky_writer(caf::event_based_actor* self, sb::actors::storage_writer_actor real) {
  struct Held {
    sb::storage::WriteOp op;
    caf::response_promise promise;
  };
  auto audit_batches = std::make_shared<int>(0);
  auto stalling = std::make_shared<bool>(false);
  auto held = std::make_shared<std::deque<Held>>();
  return {
      [=](sb::actors::write_atom, sb::storage::WriteOp& op) -> caf::result<sb::storage::WriteOutcome> {
        const bool audit = op.sql.rfind("INSERT INTO audit_log", 0) == 0;
        if (audit && ++*audit_batches == 1) {
          sb::storage::WriteOutcome failed;
          failed.error_code = "sqlite.full";
          failed.error_message = "database or disk is full (injected)";
          return failed;
        }
        if (audit && *audit_batches == 2) {
          *stalling = true;
          self->delayed_send(self, 600ms, caf::atom("release"));
        }
        if (*stalling) {
          held->push_back(Held{std::move(op), self->make_response_promise()});
          return held->back().promise;
        }
        return self->delegate(real, sb::actors::write_atom::value, std::move(op));
      },
      [=](caf::atom_constant<caf::atom("release")>) {
        *stalling = false;
        for (auto& h : *held)
          self->request(real, caf::infinite, sb::actors::write_atom::value, h.op)
              .then([p = h.promise](const sb::storage::WriteOutcome& out) mutable { p.deliver(out); },
                    [p = h.promise](caf::error& e) mutable { p.deliver(e); });
        held->clear();
      },
      [=](sb::actors::status_atom) {
        return sb::actors::component_status{"storage", "running", ""};
      },
      [=](sb::actors::shutdown_atom) { return true; },
  };
}

// M2 of the 2026-12 audit: a failed batch and a write answered after the timeout used to
// make the actor restart from a head that did not match what was still queued, leaving a
// gap ("deleted") or a fork ("reordered") that verify reports forever.
TEST(AuditLog, AFailedBatchAndAStalledWriteLeaveTheChainIntact) {
  sb::test::TempDir dir;
  const std::string path = dir.file("audit.db");
  {
    auto db = sb::storage::Database::open(path, {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(sb::storage::migrate(*db).ok());
  }
  std::vector<int64_t> seqs;
  {
    sb::test::ActorSystemFixture fx;
    caf::scoped_actor self{fx.system};
    sb::actors::StorageWriterOptions writer_options;
    writer_options.path = path;
    auto real = sb::actors::spawn_storage_writer(fx.system, writer_options);
    auto flaky = fx.system.spawn(audit_test_flaky_writer, real);
    fx.system.registry().put(caf::atom("storage"), caf::actor_cast<caf::strong_actor_ptr>(flaky));
    sb::actors::AuditLogOptions options;
    options.db_path = path;
    options.write_timeout = 200ms;
    options.max_batch = 4;
    options.retry_base = 20ms;
    auto audit = sb::actors::spawn_audit_log(fx.system, options);
    // Many appends in flight at once, as the node's sinks send them.
    constexpr int kRecords = 30;
    for (int i = 0; i < kRecords; ++i)
      self->send(caf::actor_cast<caf::actor>(audit), sb::actors::append_atom::value,
                 sb::AuditRecord{"test", "event." + std::to_string(i), "s", R"({"i":)" + std::to_string(i) + "}"});
    for (int i = 0; i < kRecords; ++i)
      self->receive([&](const sb::actors::audit_receipt& r) { seqs.push_back(r.seq); },
                    [&](caf::error& e) { ADD_FAILURE() << fx.system.render(e); },
                    caf::after(20s) >> [&] { ADD_FAILURE() << "no receipt for record " << i; });
    self->send_exit(audit, caf::exit_reason::user_shutdown);
    self->send_exit(flaky, caf::exit_reason::user_shutdown);
    self->send_exit(real, caf::exit_reason::user_shutdown);
  }
  std::sort(seqs.begin(), seqs.end());
  ASSERT_EQ(seqs.size(), 30u);
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], static_cast<int64_t>(i + 1));
  auto verified = sb::storage::verify_database(path);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_FALSE(verified->fault.has_value()) << verified->fault->reason;
  EXPECT_EQ(verified->records, 30u);
}

}  // namespace
