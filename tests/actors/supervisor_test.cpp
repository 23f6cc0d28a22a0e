#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "actor_test_support.hpp"
#include "actors/supervisor.hpp"

namespace {

using namespace std::chrono_literals;
using sb::actors::child_failure;
using sb::actors::failed_atom;
using sb::actors::shutdown_atom;
using sb::actors::status_atom;
using sb::actors::supervisor_status;
using clock_type = std::chrono::steady_clock;

// Records when a child was started; thread-safe (children start on worker threads).
struct StartLog {
  std::mutex mutex;
  std::vector<clock_type::time_point> starts;
  void record() {
    std::lock_guard lock(mutex);
    starts.push_back(clock_type::now());
  }
  std::vector<clock_type::time_point> snapshot() {
    std::lock_guard lock(mutex);
    return starts;
  }
};

// A child that throws on its first message, which it sends itself: it crashes right
// after every start.
sb::actors::ChildSpec crashing_child(std::shared_ptr<StartLog> log, std::string name = "crashy") {
  return {name, [log, name](caf::actor_system& sys, const caf::actor&) {
            log->record();
            return sys.spawn([name](caf::event_based_actor* self) -> caf::behavior {
              sb::actors::log_exceptions(self, name);
              self->send(self, int32_t{1});
              return {[](int32_t) { throw std::runtime_error("boom"); }};
            });
          }};
}

// A child that crashes on its first `crash_times` starts and then behaves.
sb::actors::ChildSpec flaky_child(std::shared_ptr<StartLog> log, int crash_times) {
  return {"flaky", [log, crash_times](caf::actor_system& sys, const caf::actor&) {
            log->record();
            bool crash = static_cast<int>(log->snapshot().size()) <= crash_times;
            return sys.spawn([crash](caf::event_based_actor* self) -> caf::behavior {
              sb::actors::log_exceptions(self, "flaky");
              if (crash) self->send(self, int32_t{1});
              return {[](int32_t) { throw std::runtime_error("flaky boom"); },
                      [self](shutdown_atom) {
                        self->quit(caf::exit_reason::user_shutdown);
                        return true;
                      },
                      [](status_atom) { return std::string("running"); }};
            });
          }};
}

supervisor_status status_of(caf::scoped_actor& self, const sb::actors::supervisor_actor& sup) {
  supervisor_status out;
  self->request(sup, 5s, status_atom::value)
      .receive([&](const supervisor_status& s) { out = s; },
               [&](caf::error& e) { ADD_FAILURE() << "status failed: " << self->system().render(e); });
  return out;
}

TEST(Supervisor, RestartsACrashingChildWithGrowingDelaysThenGivesUpAndReports) {
  sb::test::ActorSystemFixture fx;
  sb::metrics::Registry metrics;
  caf::scoped_actor parent{fx.system};
  auto log = std::make_shared<StartLog>();

  sb::actors::SupervisorOptions opts;
  opts.name = "test";
  opts.policy.backoff_base = 40ms;
  opts.policy.backoff_max = 10s;
  opts.policy.budget = 4;
  opts.policy.window = 60s;
  opts.parent = caf::actor_cast<caf::actor>(parent);
  opts.metrics = &metrics;
  opts.children = {crashing_child(log)};
  auto sup = sb::actors::spawn_supervisor(fx.system, opts);

  child_failure failure;
  bool reported = false;
  parent->receive([&](failed_atom, const child_failure& f) { failure = f; reported = true; },
                  caf::after(std::chrono::seconds(10)) >> [] {});
  ASSERT_TRUE(reported) << "the give-up was not reported to the parent";
  EXPECT_EQ(failure.supervisor, "test");
  EXPECT_EQ(failure.child, "crashy");
  EXPECT_NE(failure.reason.find("boom"), std::string::npos) << failure.reason;
  EXPECT_EQ(failure.restarts, 4u);

  auto starts = log->snapshot();
  ASSERT_EQ(starts.size(), 5u);  // the first start and four restarts
  std::vector<double> gaps;
  for (size_t i = 1; i < starts.size(); ++i)
    gaps.push_back(std::chrono::duration<double, std::milli>(starts[i] - starts[i - 1]).count());
  for (size_t k = 0; k < gaps.size(); ++k) {
    double full = 40.0 * (1 << k);
    EXPECT_GE(gaps[k], full / 2 - 1) << "restart " << k + 1 << " came too early";
    EXPECT_LE(gaps[k], full + 250) << "restart " << k + 1 << " came too late";
  }
  EXPECT_GT(gaps[3], gaps[0] * 2) << "delays did not grow";

  // Given up: the supervisor does not spin. Nothing starts during several times the
  // last delay.
  parent->receive([&](failed_atom, const child_failure&) { ADD_FAILURE() << "reported twice"; },
                  caf::after(std::chrono::milliseconds(700)) >> [] {});
  EXPECT_EQ(log->snapshot().size(), 5u);

  auto st = status_of(parent, sup);
  ASSERT_EQ(st.children.size(), 1u);
  EXPECT_EQ(st.children[0].state, "dead");
  EXPECT_EQ(st.children[0].restarts, 4u);
  auto text = metrics.render();
  EXPECT_NE(text.find("squadbox_actor_restarts_total{supervisor=\"test\",child=\"crashy\"} 4"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("squadbox_actor_giveups_total{supervisor=\"test\",child=\"crashy\"} 1"),
            std::string::npos)
      << text;
  parent->send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST(Supervisor, RecoveredChildIsRunningAndRegisteredUnderItsNewHandle) {
  sb::test::ActorSystemFixture fx;
  caf::scoped_actor self{fx.system};
  auto log = std::make_shared<StartLog>();
  sb::actors::SupervisorOptions opts;
  opts.policy.backoff_base = 5ms;
  opts.policy.backoff_max = 50ms;
  opts.children = {flaky_child(log, 2)};
  auto sup = sb::actors::spawn_supervisor(fx.system, opts);

  // Wait (bounded) until the third start has happened and the child is up.
  auto deadline = clock_type::now() + 10s;
  supervisor_status st;
  while (clock_type::now() < deadline) {
    st = status_of(self, sup);
    if (!st.children.empty() && st.children[0].state == "running" && st.children[0].restarts == 2) break;
    self->receive(caf::after(std::chrono::milliseconds(5)) >> [] {});
  }
  ASSERT_EQ(st.children.size(), 1u);
  EXPECT_EQ(st.children[0].state, "running");
  EXPECT_EQ(st.children[0].restarts, 2u);
  EXPECT_NE(st.children[0].last_error.find("flaky boom"), std::string::npos);

  auto handle = sb::actors::lookup(fx.system, "flaky");
  ASSERT_TRUE(handle);
  std::string answer;
  self->request(handle, 5s, status_atom::value).receive([&](const std::string& s) { answer = s; },
                                                        [&](caf::error&) {});
  EXPECT_EQ(answer, "running");

  bool stopped = false;
  self->request(sup, 5s, shutdown_atom::value).receive([&](bool ok) { stopped = ok; }, [&](caf::error&) {});
  EXPECT_TRUE(stopped);
  EXPECT_FALSE(sb::actors::lookup(fx.system, "flaky")) << "a stopped child stays registered";
}

TEST(Supervisor, NestedSupervisorGiveUpReachesTheRootsParent) {
  sb::test::ActorSystemFixture fx;
  caf::scoped_actor top{fx.system};
  auto log = std::make_shared<StartLog>();

  sb::actors::SupervisorOptions inner;
  inner.name = "inner";
  inner.policy.backoff_base = 1ms;
  inner.policy.backoff_max = 2ms;
  inner.policy.budget = 1;
  inner.register_children = false;
  inner.children = {crashing_child(log, "leaf")};

  sb::actors::SupervisorOptions outer;
  outer.name = "outer";
  outer.parent = caf::actor_cast<caf::actor>(top);
  outer.register_children = false;
  outer.children = {{"inner", [inner](caf::actor_system& sys, const caf::actor& me) mutable {
                       inner.parent = me;
                       return caf::actor_cast<caf::actor>(sb::actors::spawn_supervisor(sys, inner));
                     }}};
  auto sup = sb::actors::spawn_supervisor(fx.system, outer);

  child_failure failure;
  top->receive([&](failed_atom, const child_failure& f) { failure = f; },
               caf::after(std::chrono::seconds(10)) >> [] { ADD_FAILURE() << "no report"; });
  EXPECT_EQ(failure.supervisor, "inner");
  EXPECT_EQ(failure.child, "leaf");
  top->send_exit(sup, caf::exit_reason::user_shutdown);
}

// A typed request that gets no answer in time ends in request_timeout, not a hang.
TEST(TypedProtocol, RequestResponseAndTimeout) {
  sb::test::ActorSystemFixture fx;
  caf::scoped_actor self{fx.system};
  auto silent = fx.system.spawn([](sb::actors::component_actor::pointer me)
                                    -> sb::actors::component_actor::behavior_type {
    return {
        [me](status_atom) -> caf::result<sb::actors::component_status> {
          // Never delivered: the caller must time out.
          return me->make_response_promise<sb::actors::component_status>();
        },
        [me](shutdown_atom) {
          me->quit();
          return true;
        },
    };
  });
  bool timed_out = false;
  self->request(silent, 100ms, status_atom::value)
      .receive([&](const sb::actors::component_status&) { ADD_FAILURE() << "unexpected reply"; },
               [&](caf::error& e) { timed_out = e == caf::sec::request_timeout; });
  EXPECT_TRUE(timed_out);

  bool stopped = false;
  self->request(silent, 5s, shutdown_atom::value).receive([&](bool b) { stopped = b; }, [](caf::error&) {});
  EXPECT_TRUE(stopped);
}

}  // namespace
