// The SecurityAuditor actor: periodic scans on its own thread, never overlapping, each
// finding audited and counted; interval 0 means no periodic scans.
#include "actors/audit/security_auditor.hpp"

#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/actor_test_support.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/fake_container_runtime.hpp"

namespace sb::actors {
namespace {

using namespace std::chrono_literals;
using sb::container::scan::test::clean_profile;
using sb::container::scan::test::FakeRuntime;

struct Collected {
  std::mutex mu;
  std::vector<AuditRecord> records;
  size_t size() {
    std::lock_guard lock(mu);
    return records.size();
  }
};

class SecurityAuditor : public ::testing::Test {
 protected:
  metrics::Registry metrics_;        // outlives the actor system (declared first)
  sb::test::ActorSystemFixture fx_;  // joins the actors when destroyed
  std::shared_ptr<FakeRuntime> rt_ = std::make_shared<FakeRuntime>();
  std::shared_ptr<container::scan::ApprovedContainers> approved_ =
      std::make_shared<container::scan::ApprovedContainers>();
  std::shared_ptr<Collected> audit_ = std::make_shared<Collected>();
  security_auditor_actor auditor_;

  void spawn(std::chrono::milliseconds interval) {
    SecurityAuditorOptions o;
    o.runtime = rt_;
    o.approved = approved_;
    o.install_id = "i1";
    o.interval = interval;
    o.sink = [a = audit_](AuditRecord r) {
      std::lock_guard lock(a->mu);
      a->records.push_back(std::move(r));
    };
    o.metrics = &metrics_;
    auditor_ = spawn_security_auditor(fx_.system, std::move(o));
    ASSERT_TRUE(auditor_);
  }
  void TearDown() override {
    if (auditor_) caf::anon_send_exit(auditor_, caf::exit_reason::user_shutdown);
  }
  uint64_t scans() { return metrics_.counter("squadbox_security_scans_total", "").value(); }
  uint64_t scan_now() {
    caf::scoped_actor self{fx_.system};
    uint64_t n = ~uint64_t{0};
    self->request(auditor_, 30s, scan_atom::value).receive([&](uint64_t v) { n = v; }, [](caf::error&) {});
    return n;
  }
};

TEST_F(SecurityAuditor, PeriodicScanStopsAnUnknownContainerAndAuditsIt) {
  rt_->add("stray", {{container::kLabelInstall, "i1"}, {container::kLabelNamespace, "g1"}}, clean_profile());
  spawn(20ms);
  ASSERT_TRUE(sb::test::wait_until([&] { return audit_->size() >= 1; }, 30s));
  EXPECT_FALSE(rt_->exists("stray"));
  {
    std::lock_guard lock(audit_->mu);
    EXPECT_EQ(audit_->records[0].event, "security.finding");
    EXPECT_EQ(audit_->records[0].subject, "stray");
    EXPECT_NE(audit_->records[0].detail.find("\"kind\":\"unknown_container\""), std::string::npos);
    EXPECT_NE(audit_->records[0].detail.find("\"namespace\":\"g1\""), std::string::npos);
  }
  EXPECT_EQ(metrics_.counter("squadbox_security_findings_total", "", {{"kind", "unknown_container"}}).value(), 1u);
  // It keeps scanning: more scans follow, without new findings.
  ASSERT_TRUE(sb::test::wait_until([&] { return scans() >= 3; }, 30s));
  EXPECT_EQ(audit_->size(), 1u);
}

TEST_F(SecurityAuditor, ScansNeverOverlap) {
  rt_->set_list_delay(30ms);
  spawn(1ms);
  // Scan requests from several threads on top of the periodic ones.
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back([&] { EXPECT_EQ(scan_now(), 0u); });
  for (auto& t : threads) t.join();
  ASSERT_TRUE(sb::test::wait_until([&] { return rt_->lists() >= 6; }, 30s));
  EXPECT_EQ(rt_->max_concurrent_lists(), 1);
}

TEST_F(SecurityAuditor, IntervalZeroMeansOnlyOnDemand) {
  rt_->add("stray", {{container::kLabelInstall, "i1"}}, clean_profile());
  spawn(0ms);
  std::this_thread::sleep_for(200ms);  // would be many scans at any positive interval
  EXPECT_EQ(rt_->lists(), 0);
  EXPECT_TRUE(rt_->exists("stray"));
  EXPECT_EQ(scan_now(), 1u);
  EXPECT_FALSE(rt_->exists("stray"));
  caf::scoped_actor self{fx_.system};
  self->request(auditor_, 30s, status_atom::value)
      .receive(
          [](const component_status& s) {
            EXPECT_EQ(s.state, "off");
            EXPECT_EQ(s.detail, "scans 1, findings 1");
          },
          [](caf::error&) { ADD_FAILURE() << "no status"; });
}

TEST_F(SecurityAuditor, ApprovedContainersAreLeftAlone) {
  rt_->add("good", {{container::kLabelInstall, "i1"}}, clean_profile());
  approved_->approve(
      container::scan::ApprovedContainer{"good", "r", "g1", std::vector<container::Mount>{}, std::nullopt});
  spawn(10ms);
  ASSERT_TRUE(sb::test::wait_until([&] { return scans() >= 3; }, 30s));
  EXPECT_TRUE(rt_->exists("good"));
  EXPECT_EQ(audit_->size(), 0u);
}

TEST_F(SecurityAuditor, MissingRuntimeOrRegistryIsRefused) {
  SecurityAuditorOptions o;
  o.approved = approved_;
  EXPECT_FALSE(spawn_security_auditor(fx_.system, o));
  o.runtime = rt_;
  o.approved = nullptr;
  EXPECT_FALSE(spawn_security_auditor(fx_.system, o));
}

}  // namespace
}  // namespace sb::actors
