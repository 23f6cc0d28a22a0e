// The ContainerSupervisor actor against real crun containers running the real
// squadbox-agent: a full turn, crash -> restart -> re-delivery, hard and idle
// timeouts, OOM, persistence of every transition.
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "actors/containers/container_supervisor.hpp"
#include "actors/node/node.hpp"
#include "actors/supervision/supervisor.hpp"
#include "runtime/container/env_policy.hpp"
#include "runtime/container/oci/image_store.hpp"
#include "runtime/container/oci/oci_runtime.hpp"
#include "runtime/container/reconcile.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/oci_test_runtime.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using namespace sb::actors;
namespace fs = std::filesystem;
namespace oci = sb::container::oci;

struct Events {
  std::vector<sb::container::RunOutput> outputs;
  std::vector<sb::container::RunTransition> transitions;
  std::optional<sb::container::RunResult> result;
  bool saw(const std::string& to) const {
    for (const auto& t : transitions)
      if (sb::container::to_string(t.to) == to) return true;
    return false;
  }
};

class ContainerRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_EQ(sb::test::prepare_container_host(), ""); }

  void SetUp() override {
    auto oci = sb::test::make_oci_test_runtime(dir_.path(), "test-install");
    ASSERT_TRUE(oci.ok()) << oci.error().message;
    images_ = std::move(oci->images);
    runtime_ = std::move(oci->runtime);
    workspace_ = dir_.file("ws");
    fs::create_directories(workspace_);
    ::chown(workspace_.c_str(), 65534, 65534);
    // A node tree gives the run a storage writer to persist into.
    config_.node.data_dir = dir_.path();
    auto db = sb::storage::Database::open(config_.storage_path(), {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(sb::storage::migrate(*db).ok());
    root_ = spawn_node(system_, {config_, &metrics_, {}, {}, {}, {}});
    ASSERT_TRUE(sb::test::wait_until([&] { return static_cast<bool>(lookup(system_, "storage")); }, 10s));
  }

  void TearDown() override {
    caf::scoped_actor self{system_};
    self->request(root_, 10s, shutdown_atom::value).receive([](bool) {}, [](caf::error&) {});
    if (runtime_) {
      auto all = runtime_->list({});
      if (all) {
        for (const auto& c : *all) EXPECT_TRUE(runtime_->remove(c.id, true).ok()) << c.id;
      }
    }
  }

  ContainerRunOptions options(const std::string& run_id, std::map<std::string, std::string> env = {}) {
    ContainerRunOptions r;
    r.run_id = run_id;
    r.namespace_name = "main";
    r.install_id = "test-install";
    r.run_dir = dir_.file("runs/" + run_id);
    r.spec.name = "sbtest-" + run_id;
    r.spec.image = "squadbox-agent:latest";
    r.spec.limits = {64ll << 20, 64, 1000};
    env.emplace("SQUADBOX_IPC_DIR", "/workspace/ipc");
    env.emplace("HOME", "/tmp");
    r.spec.env = sb::container::EnvPolicy{}.build(env, {});
    r.mounts.workspace = workspace_;
    r.mounts.workspace_read_write = true;
    r.restart.backoff_base = 50ms;
    r.restart.backoff_max = 200ms;
    r.restart.budget = 2;
    r.runtime = runtime_;
    r.metrics = &metrics_;
    return r;
  }

  // Receives listener messages until `until` holds or the deadline passes.
  template <class Pred>
  bool pump(caf::scoped_actor& self, Events& ev, Pred until, std::chrono::milliseconds timeout = 20s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!until(ev)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      self->receive([&](output_atom, const sb::container::RunOutput& o) { ev.outputs.push_back(o); },
                    [&](state_atom, const sb::container::RunTransition& t) { ev.transitions.push_back(t); },
                    [&](done_atom, const sb::container::RunResult& r) { ev.result = r; }, caf::after(left) >> [] {});
    }
    return true;
  }

  int64_t count(const std::string& sql) {
    sb::storage::OpenOptions o;
    o.read_only = true;
    auto db = sb::storage::Database::open(config_.storage_path(), o);
    auto stmt = db->prepare(sql);
    EXPECT_TRUE(stmt.ok()) << sql;
    EXPECT_TRUE(stmt->step().ok());
    return stmt->column_int64(0);
  }

  sb::test::TempDir dir_;
  std::unique_ptr<oci::ImageStore> images_;
  std::shared_ptr<oci::OciRuntime> runtime_;
  std::string workspace_;
  sb::config::Config config_;
  sb::metrics::Registry metrics_;
  caf::actor_system_config cfg_;
  caf::actor_system system_{[this]() -> caf::actor_system_config& {
    configure_actor_system(cfg_, sb::config::Config{});
    return cfg_;
  }()};
  supervisor_actor root_;
};

TEST_F(ContainerRun, AFullTurnThenCloseExitsCleanlyAndIsPersisted) {
  caf::scoped_actor self{system_};
  auto opts = options("turn1");
  opts.listener = caf::actor_cast<sb::actors::run_listener_actor>(self);
  auto run = spawn_container_supervisor(system_, opts);
  self->send(run, deliver_atom::value, std::string("in-1"), std::string("hello container"));
  Events ev;
  ASSERT_TRUE(pump(self, ev, [](const Events& e) { return !e.outputs.empty(); }));
  EXPECT_EQ(ev.outputs[0].text, "hello container");
  EXPECT_EQ(ev.outputs[0].in_reply_to, "in-1");
  ASSERT_TRUE(pump(self, ev, [](const Events& e) { return e.saw("idle") && e.saw("running"); }));

  // Warm: a follow-up goes to the same container.
  self->send(run, deliver_atom::value, std::string("in-2"), std::string("again"));
  ASSERT_TRUE(pump(self, ev, [](const Events& e) { return e.outputs.size() == 2; }));
  EXPECT_EQ(ev.outputs[1].text, "again");

  self->send(run, close_atom::value);
  ASSERT_TRUE(pump(self, ev, [](const Events& e) { return e.result.has_value(); }));
  EXPECT_EQ(ev.result->final_state, sb::container::RunState::exited);
  EXPECT_EQ(ev.result->exit_code, 0);
  EXPECT_EQ(ev.result->restarts, 0u);
  std::vector<std::string> path;
  for (const auto& t : ev.transitions) path.push_back(std::string(sb::container::to_string(t.to)));
  EXPECT_EQ(path.front(), "preparing");
  EXPECT_EQ(path.back(), "exited");

  // Every transition reached the database (the writer commits asynchronously).
  EXPECT_TRUE(sb::test::wait_until(
      [&] {
        return count("SELECT count(*) FROM container_run_transitions WHERE run_id = 'turn1'") ==
               static_cast<int64_t>(ev.transitions.size());
      },
      10s));
  EXPECT_TRUE(sb::test::wait_until(
      [&] {
        return count("SELECT count(*) FROM container_runs WHERE id = 'turn1' AND state = 'exited' AND exit_code = 0") ==
               1;
      },
      10s));
  EXPECT_TRUE(runtime_->list({{"io.squadbox.run", "turn1"}})->empty()) << "container left behind";
}

TEST_F(ContainerRun, CrashMidTurnRestartsAndRedeliversTheInput) {
  caf::scoped_actor self{system_};
  // Slow turns, so the test can kill the container while one is in progress.
  auto opts = options(
      "crash1", {{"SQUADBOX_AGENT_MODE", "exec"}, {"SQUADBOX_AGENT_COMMAND", R"(["/bin/sh","-c","sleep 1; cat"])"}});
  opts.listener = caf::actor_cast<sb::actors::run_listener_actor>(self);
  auto run = spawn_container_supervisor(system_, opts);
  self->send(run, deliver_atom::value, std::string("in-1"), std::string("survive me"));
  Events ev;
  ASSERT_TRUE(pump(self, ev, [](const Events& e) { return e.saw("running"); }));
  std::string cid;
  self->request(run, 5s, status_atom::value)
      .receive([&](const component_status& s) { cid = s.detail; }, [](caf::error&) {});
  ASSERT_FALSE(cid.empty());
  ASSERT_TRUE(runtime_->kill(cid, SIGKILL).ok());

  ASSERT_TRUE(pump(self, ev, [](const Events& e) { return !e.outputs.empty(); }));
  EXPECT_NE(ev.outputs[0].text.find("survive me"), std::string::npos) << ev.outputs[0].text;
  EXPECT_EQ(ev.outputs[0].in_reply_to, "in-1");
  EXPECT_TRUE(ev.saw("failed"));
  EXPECT_TRUE(ev.saw("backoff"));
  self->send(run, close_atom::value);
  ASSERT_TRUE(pump(self, ev, [](const Events& e) { return e.result.has_value(); }));
  EXPECT_EQ(ev.result->final_state, sb::container::RunState::exited);
  EXPECT_EQ(ev.result->restarts, 1u);
}

TEST_F(ContainerRun, KeepsCrashingUntilDeadAndSaysSo) {
  caf::scoped_actor self{system_};
  auto opts =
      options("dead1", {{"SQUADBOX_AGENT_MODE", "exec"}, {"SQUADBOX_AGENT_COMMAND", R"(["/bin/sh","-c","sleep 30"])"}});
  opts.listener = caf::actor_cast<sb::actors::run_listener_actor>(self);
  auto run = spawn_container_supervisor(system_, opts);
  self->send(run, deliver_atom::value, std::string("in-1"), std::string("x"));
  Events ev;
  // Kill every container it starts: budget 2 -> the third failure is fatal.
  for (int i = 0; i < 3; ++i) {
    std::string cid;
    ASSERT_TRUE(sb::test::wait_until(
        [&] {
          self->request(run, 5s, status_atom::value)
              .receive([&](const component_status& s) { cid = s.state == "running" ? s.detail : ""; },
                       [](caf::error&) {});
          return !cid.empty();
        },
        20s))
        << "attempt " << i;
    ASSERT_TRUE(runtime_->kill(cid, SIGKILL).ok());
    ASSERT_TRUE(pump(self, ev, [&](const Events& e) {
      int failed = 0;
      for (const auto& t : e.transitions) failed += t.to == sb::container::RunState::failed;
      return failed > i;
    }));
  }
  ASSERT_TRUE(pump(self, ev, [](const Events& e) { return e.result.has_value(); }));
  EXPECT_EQ(ev.result->final_state, sb::container::RunState::dead);
  EXPECT_EQ(ev.result->restarts, 2u);
  EXPECT_NE(metrics_.render().find("squadbox_container_restarts_total 2"), std::string::npos);
}

TEST_F(ContainerRun, HardTimeoutStopsAHangingAgentWithTermThenKill) {
  caf::scoped_actor self{system_};
  auto opts =
      options("hang1", {{"SQUADBOX_AGENT_MODE", "exec"}, {"SQUADBOX_AGENT_COMMAND", R"(["/bin/sh","-c","sleep 60"])"}});
  opts.hard_timeout = 800ms;
  opts.stop_grace = 300ms;
  opts.listener = caf::actor_cast<sb::actors::run_listener_actor>(self);
  auto started = std::chrono::steady_clock::now();
  auto run = spawn_container_supervisor(system_, opts);
  self->send(run, deliver_atom::value, std::string("in-1"), std::string("x"));
  Events ev;
  ASSERT_TRUE(pump(self, ev, [](const Events& e) { return e.result.has_value(); }));
  EXPECT_EQ(ev.result->final_state, sb::container::RunState::exited);
  EXPECT_EQ(ev.result->reason, sb::container::EndReason::hard_timeout);
  EXPECT_TRUE(ev.saw("stopping"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_TRUE(runtime_->list({{"io.squadbox.run", "hang1"}})->empty());
}

TEST_F(ContainerRun, IdleTimeoutClosesASilentContainer) {
  caf::scoped_actor self{system_};
  auto opts = options("idle1");
  opts.idle_timeout = 500ms;
  opts.listener = caf::actor_cast<sb::actors::run_listener_actor>(self);
  auto run = spawn_container_supervisor(system_, opts);
  Events ev;
  ASSERT_TRUE(pump(self, ev, [](const Events& e) { return e.result.has_value(); }));
  EXPECT_EQ(ev.result->final_state, sb::container::RunState::exited);
  EXPECT_EQ(ev.result->reason, sb::container::EndReason::idle_timeout);
}

TEST_F(ContainerRun, OomKillIsReportedAsSuch) {
  caf::scoped_actor self{system_};
  // Grows a shell variable far past the 64 MiB limit.
  auto opts = options(
      "oom1", {{"SQUADBOX_AGENT_MODE", "exec"},
               {"SQUADBOX_AGENT_COMMAND", R"(["/bin/sh","-c","x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done"])"}});
  opts.restart.budget = 0;
  opts.listener = caf::actor_cast<sb::actors::run_listener_actor>(self);
  auto run = spawn_container_supervisor(system_, opts);
  self->send(run, deliver_atom::value, std::string("in-1"), std::string("x"));
  Events ev;
  ASSERT_TRUE(pump(self, ev, [](const Events& e) {
    for (const auto& o : e.outputs)
      if (!o.error.empty()) return true;
    return e.result.has_value();
  }));
  if (!ev.result) self->send(run, close_atom::value);
  ASSERT_TRUE(pump(self, ev, [](const Events& e) { return e.result.has_value(); }));
  EXPECT_TRUE(ev.result->oom_killed);
  EXPECT_EQ(ev.result->detail, "oom_killed");
  EXPECT_NE(metrics_.render().find("squadbox_container_oom_kills_total 1"), std::string::npos);
}

TEST_F(ContainerRun, ReconcileRemovesOnlyThisInstallsStrayContainers) {
  // A stray container of this install (e.g. left by a SIGKILLed broker) and one of
  // another install on the same runtime state.
  sb::container::ContainerSpec spec;
  spec.image = "squadbox-agent:latest";
  spec.command = {"/bin/sleep", "60"};
  spec.name = "stray-a";
  spec.labels = {{"io.squadbox.install", "test-install"}, {"io.squadbox.run", "gone"}};
  auto mine = runtime_->create(spec);
  ASSERT_TRUE(mine.ok()) << mine.error().message;
  ASSERT_TRUE(runtime_->start(*mine).ok());
  spec.name = "stray-b";
  spec.labels = {{"io.squadbox.install", "other-install"}, {"io.squadbox.run", "theirs"}};
  auto theirs = runtime_->create(spec);
  ASSERT_TRUE(theirs.ok());
  ASSERT_TRUE(runtime_->start(*theirs).ok());

  auto report = sb::container::reconcile(*runtime_, "test-install", {});
  EXPECT_EQ(report.removed, std::vector<std::string>{*mine});
  EXPECT_TRUE(report.failed.empty());
  auto left = runtime_->list({});
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].id, *theirs) << "another install's container was touched";

  // A live run of this process is adopted, not removed.
  auto again = runtime_->create([&] {
    auto s = spec;
    s.name = "live-a";
    s.labels = {{"io.squadbox.install", "test-install"}, {"io.squadbox.run", "live"}};
    return s;
  }());
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(runtime_->start(*again).ok());
  auto second = sb::container::reconcile(*runtime_, "test-install", {"live"});
  EXPECT_EQ(second.adopted, std::vector<std::string>{*again});
  EXPECT_TRUE(second.removed.empty());
}

}  // namespace
