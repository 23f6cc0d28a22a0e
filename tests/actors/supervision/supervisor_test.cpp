#include "actors/supervision/supervisor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <sstream>

#include <gtest/gtest.h>

#include "runtime/core/log.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

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

// Captures the structured log into a file for the duration of a test.
class LogCapture {
 public:
  explicit LogCapture(const std::string& path) : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600)) {
    sb::log::set_fd(fd_);
  }
  ~LogCapture() {
    sb::log::set_fd(STDERR_FILENO);
    ::close(fd_);
  }

 private:
  int fd_;
};

TEST(Supervisor, RestartsACrashingChildWithGrowingDelaysThenGivesUpAndReports) {
  sb::test::TempDir dir;
  const std::string log_path_ = dir.file("log");
  LogCapture capture(log_path_);
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
  parent->receive(
      [&](failed_atom, const child_failure& f) {
        failure = f;
        reported = true;
      },
      caf::after(std::chrono::seconds(10)) >> [] {});
  ASSERT_TRUE(reported) << "the give-up was not reported to the parent";
  EXPECT_EQ(failure.supervisor, "test");
  EXPECT_EQ(failure.child, "crashy");
  EXPECT_NE(failure.reason.find("boom"), std::string::npos) << failure.reason;
  EXPECT_EQ(failure.restarts, 4u);

  auto starts = log->snapshot();
  ASSERT_EQ(starts.size(), 5u);  // the first start and four restarts
  // The delays the supervisor chose (from its log): within [d/2, d] for d = 40 ms * 2^k,
  // so they grow; and no restart came before its delay. (Wall-clock gaps also carry
  // scheduling and exception-handling time, which under sanitizers is large.)
  std::vector<int64_t> delays;
  {
    std::istringstream lines(sb::test::read_file(log_path_));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find("event=supervisor.child_crashed supervisor=test") == std::string::npos) continue;
      auto at = line.find("restart_in_ms=");
      if (at != std::string::npos) delays.push_back(std::stoll(line.substr(at + 14)));
    }
  }
  ASSERT_EQ(delays.size(), 4u);
  for (size_t k = 0; k < delays.size(); ++k) {
    int64_t full = 40 << k;
    EXPECT_GE(delays[k], full / 2) << "restart " << k + 1;
    EXPECT_LE(delays[k], full) << "restart " << k + 1;
    if (k > 0) {
      EXPECT_GE(delays[k], delays[k - 1]) << "delays did not grow";
    }
    double gap = std::chrono::duration<double, std::milli>(starts[k + 1] - starts[k]).count();
    EXPECT_GE(gap, static_cast<double>(delays[k]) - 1) << "restart " << k + 1 << " came too early";
  }

  // Given up: the supervisor does not spin. Nothing starts during several times the
  // last delay.
  parent->receive([&](failed_atom, const child_failure&) { ADD_FAILURE() << "reported twice"; },
                  caf::after(std::chrono::milliseconds(700)) >> [] {});
  EXPECT_EQ(log->snapshot().size(), 5u);

  auto st = status_of(parent, sup);
  ASSERT_EQ(st.children.size(), 1u);
  EXPECT_EQ(st.children[0].state, sb::actors::ChildState::dead);
  EXPECT_EQ(st.children[0].restarts, 4u);
  auto text = metrics.render();
  EXPECT_NE(text.find("squadbox_actor_restarts_total{supervisor=\"test\",child=\"crashy\"} 4"), std::string::npos)
      << text;
  EXPECT_NE(text.find("squadbox_actor_giveups_total{supervisor=\"test\",child=\"crashy\"} 1"), std::string::npos)
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
    if (!st.children.empty() && st.children[0].state == sb::actors::ChildState::running && st.children[0].restarts == 2)
      break;
    self->receive(caf::after(std::chrono::milliseconds(5)) >> [] {});
  }
  ASSERT_EQ(st.children.size(), 1u);
  EXPECT_EQ(st.children[0].state, sb::actors::ChildState::running);
  EXPECT_EQ(st.children[0].restarts, 2u);
  EXPECT_NE(st.children[0].last_error.find("flaky boom"), std::string::npos);

  auto handle = sb::actors::lookup(fx.system, "flaky");
  ASSERT_TRUE(handle);
  std::string answer;
  self->request(handle, 5s, status_atom::value).receive([&](const std::string& s) { answer = s; }, [&](caf::error&) {});
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
  auto silent =
      fx.system.spawn([](sb::actors::component_actor::pointer me) -> sb::actors::component_actor::behavior_type {
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
