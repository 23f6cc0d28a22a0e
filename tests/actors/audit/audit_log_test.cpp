// The audit log actor appends hash-chained records through the storage writer: the
// chain it writes verifies with the store's verifier.
#include "actors/audit/audit_log.hpp"

#include <gtest/gtest.h>

#include "actors/node/node.hpp"
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

}  // namespace
