// Scheduled runs (issue 7) through the NamespaceManager and Namespace actors against real
// crun containers: the agent runs in exec mode with a command that executes a task's
// prompt as a shell script and echoes message turns, so one image serves both. Covered:
// workspace writes and the result, the hard timeout, the global limit (pre-empting an
// idle container), scheduled runs before waiting messages, announcements through the
// outbox, and every run answered exactly once (unknown namespace, bad input, failed
// start, namespace deleted with a run queued). The pure rules are tested without actors.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "actors/namespaces/scheduled_runs.hpp"
#include "tests/actors/namespaces/namespace_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using sb::actors::done_atom;
using sb::actors::scheduled_run;
using sb::actors::scheduled_run_result;
namespace fs = std::filesystem;

// What next_result() gives when no answer came in time (no status of a real answer).
constexpr auto kNoAnswer = static_cast<sb::schedule::RunStatus>(255);

// "success", "error", "timeout", or "none" for no answer: how the assertions read.
std::string status_text(const scheduled_run_result& r) {
  if (r.status == kNoAnswer) return "none";
  return std::string(sb::schedule::to_string(r.status));
}

// Exec mode feeds the agent's input message as JSON to the command. A task's input (id
// "task-...") runs its text as a shell script (the test prompts need no JSON escapes)
// whose output is the reply; message turns are echoed as they came.
constexpr const char* kAgentCommand =
    R"(["/bin/sh","-c","export PATH=/bin:/sbin:/usr/bin:/usr/sbin; input=$(cat); case \"$input\" in *'\"id\":\"task-'*) printf '%s' \"$input\" | sed 's/.*\"text\":\"//; s/\"}$//' | /bin/sh;; *) printf '%s' \"$input\";; esac"])";

class ScheduledRunBase : public sb::test::NamespaceFixture {
 protected:
  scheduled_run task_for(const sb::namespaces::Namespace& ns, const std::string& prompt, int64_t run_id = 1) {
    scheduled_run r;
    r.task_id = "task-" + std::to_string(run_id);
    r.run_id = run_id;
    r.namespace_id = ns.id;
    r.namespace_name = ns.name;
    r.prompt = prompt;
    r.context_mode = sb::schedule::ContextMode::isolated;
    r.timeout_secs = 60;
    r.reply_to = caf::actor_cast<caf::actor>(waiter_);
    return r;
  }

  void schedule(scheduled_run r) { caf::anon_send(manager_, sb::actors::task_atom::value, std::move(r)); }

  // The next answer, or status "none" (kNoAnswer) after `timeout`.
  scheduled_run_result next_result(std::chrono::milliseconds timeout = 90s) {
    scheduled_run_result out;
    out.status = kNoAnswer;
    waiter_->receive([&](done_atom, const scheduled_run_result& r) { out = r; }, caf::after(timeout) >> [] {});
    return out;
  }

  std::shared_ptr<sb::actors::NamespaceServices> not_ready() {
    auto s = services();
    s->ready = false;
    return s;
  }

  caf::scoped_actor waiter_{system_};
};

class ScheduledRun : public ScheduledRunBase {
 protected:
  void SetUp() override {
    NamespaceFixture::SetUp();
    config_.namespaces.start_retry_ms = 300;
    config_.container.agent_mode = "exec";
    config_.container.agent_command = kAgentCommand;
    use_containers();
  }

  bool no_containers_left() {
    return sb::test::wait_until(
        [&] {
          auto all = runtime_->list({});
          return all && all->empty();
        },
        30s);
  }

  std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
};

TEST_F(ScheduledRun, WritesIntoTheWorkspaceAndAnswersWithTheAgentsReply) {
  auto ns = make_namespace("alpha", {"slack:C1"});
  start_manager(services());
  schedule(task_for(ns, "echo nightly > /workspace/report.txt; echo mine > /session/isolated; echo wrote it", 7));
  auto r = next_result();
  EXPECT_EQ(status_text(r), "success") << r.error;
  EXPECT_EQ(r.task_id, "task-7");
  EXPECT_EQ(r.run_id, 7);
  EXPECT_EQ(r.result, "wrote it");
  EXPECT_EQ(r.error, "");
  auto file = fs::path(sb::namespaces::workspace_dir(dir_.path(), "alpha")) / "report.txt";
  EXPECT_EQ(read_file(file), "nightly\n");
  // An isolated run's session is its own, not the group's.
  EXPECT_FALSE(fs::exists(fs::path(sb::namespaces::session_dir(dir_.path(), "alpha")) / "isolated"));
  EXPECT_EQ(status_text(next_result(1s)), "none");  // answered once
  // A "scheduled" container run with a task run id; it is gone, so is its session.
  ASSERT_TRUE(sb::test::wait_until(
      [&] { return scalar("SELECT count(*) FROM container_runs WHERE ended_at IS NOT NULL") == 1; }, 20s));
  EXPECT_EQ(text_of("SELECT kind FROM container_runs"), "scheduled");
  auto id = text_of("SELECT id FROM container_runs");
  EXPECT_EQ(id.rfind("task-alpha-", 0), 0u) << id;
  EXPECT_FALSE(fs::exists(fs::path(dir_.path()) / "runs" / id / "session"));
  EXPECT_TRUE(no_containers_left());
  EXPECT_EQ(metrics_.counter("squadbox_scheduled_runs_total", "", {{"status", "success"}}).value(), 1);
}

TEST_F(ScheduledRun, GroupContextUsesTheGroupsSessionDirectory) {
  auto ns = make_namespace("alpha", {});
  start_manager(services());
  auto t = task_for(ns, "echo remembered > /session/note; echo ok");
  t.context_mode = sb::schedule::ContextMode::group;
  schedule(t);
  auto r = next_result();
  EXPECT_EQ(status_text(r), "success") << r.error;
  EXPECT_EQ(read_file(fs::path(sb::namespaces::session_dir(dir_.path(), "alpha")) / "note"), "remembered\n");
}

TEST_F(ScheduledRun, AgentThatOutlivesTheTimeoutIsKilled) {
  auto ns = make_namespace("alpha", {});
  start_manager(services());
  auto t = task_for(ns, "sleep 60; echo too late");
  t.timeout_secs = 1;
  schedule(t);
  auto r = next_result();
  EXPECT_EQ(status_text(r), "timeout") << r.error;
  EXPECT_EQ(r.result, "");
  EXPECT_NE(r.error.find("timeout"), std::string::npos) << r.error;
  EXPECT_TRUE(no_containers_left());
  EXPECT_EQ(status_text(next_result(1s)), "none");
}

TEST_F(ScheduledRun, FailingAgentIsAnErrorAndNotRestarted) {
  auto ns = make_namespace("alpha", {});
  start_manager(services());
  schedule(task_for(ns, "echo partial; exit 3"));
  auto r = next_result();
  EXPECT_EQ(status_text(r), "error");
  EXPECT_FALSE(r.error.empty());
  ASSERT_TRUE(sb::test::wait_until(
      [&] { return scalar("SELECT count(*) FROM container_runs WHERE ended_at IS NOT NULL") == 1; }, 20s));
  EXPECT_EQ(scalar("SELECT count(*) FROM container_runs"), 1);
}

TEST_F(ScheduledRun, CrashedContainerIsAnErrorWithoutARestart) {
  auto ns = make_namespace("alpha", {});
  start_manager(services());
  schedule(task_for(ns, "sleep 60"));
  ASSERT_TRUE(sb::test::wait_until(
      [&] { return scalar("SELECT count(*) FROM container_runs WHERE state = 'running'") == 1; }, 30s));
  auto running = runtime_->list({});
  ASSERT_TRUE(running.ok());
  ASSERT_EQ(running->size(), 1u);
  ASSERT_TRUE(runtime_->kill(running->front().id, SIGKILL).ok());
  auto r = next_result(30s);
  EXPECT_EQ(status_text(r), "error");
  EXPECT_NE(r.error.find("ended before the run finished"), std::string::npos) << r.error;
  EXPECT_TRUE(no_containers_left());
  EXPECT_EQ(scalar("SELECT count(*) FROM container_runs"), 1);
  EXPECT_EQ(status_text(next_result(1s)), "none");
}

TEST_F(ScheduledRun, LimitOnePreemptsAnotherNamespacesIdleContainerAndMessagesWaitForTheRun) {
  config_.namespaces.max_concurrent_containers = 1;
  sb::namespaces::ContainerConfig lingering;
  lingering.idle_timeout_secs = 600;  // only a pre-emption frees this slot in time
  auto alpha = make_namespace("alpha", {"slack:C1"}, lingering);
  auto beta = make_namespace("beta", {"slack:C2"}, lingering);
  start_manager(services());
  route(beta, slack_message("for beta", "slack:C2"));
  ASSERT_TRUE(wait_rows(1));
  schedule(task_for(alpha, "sleep 1; echo task done"));
  ASSERT_TRUE(sb::test::wait_until(
      [&] { return scalar("SELECT count(*) FROM container_runs WHERE kind = 'scheduled'") == 1; }, 60s));
  route(alpha, slack_message("for alpha while the task runs", "slack:C1"));
  auto r = next_result();
  EXPECT_EQ(status_text(r), "success") << r.error;
  EXPECT_EQ(r.result, "task done");
  ASSERT_TRUE(wait_rows(2));
  EXPECT_EQ(outbox_rows()[1].chat_jid, "slack:C1");
  ASSERT_TRUE(sb::test::wait_until(
      [&] { return scalar("SELECT count(*) FROM container_runs WHERE ended_at IS NOT NULL") >= 2; }, 20s));
  // beta's idle container was stopped for the task; alpha's message container started
  // only after the task's container had ended.
  EXPECT_NE(text_of("SELECT ended_at FROM container_runs WHERE namespace_id = 'beta'"), "");
  EXPECT_GE(scalar("SELECT started_at FROM container_runs WHERE kind = 'scheduled'"),
            scalar("SELECT ended_at FROM container_runs WHERE namespace_id = 'beta'"));
  EXPECT_GE(scalar("SELECT started_at FROM container_runs WHERE namespace_id = 'alpha' AND kind = 'squad'"),
            scalar("SELECT ended_at FROM container_runs WHERE kind = 'scheduled'"));
  EXPECT_NE(manager_status().detail.find("running 1/1"), std::string::npos) << manager_status().detail;
}

TEST_F(ScheduledRun, PendingScheduledRunGoesBeforeWaitingMessages) {
  auto ns = make_namespace("alpha", {"slack:C1"});
  start_manager(not_ready(), /*ready=*/false);  // both wait until the containers are ready
  route(ns, slack_message("waiting message"));
  schedule(task_for(ns, "echo first"));
  ASSERT_TRUE(
      sb::test::wait_until([&] { return manager_status().detail.find("namespaces 1") != std::string::npos; }, 20s));
  caf::anon_send(manager_, sb::actors::ready_atom::value);
  auto r = next_result();
  EXPECT_EQ(status_text(r), "success") << r.error;
  ASSERT_TRUE(wait_rows(1));
  EXPECT_NE(outbox_rows()[0].text.find("waiting message"), std::string::npos);
  ASSERT_TRUE(sb::test::wait_until([&] { return scalar("SELECT count(*) FROM container_runs") == 2; }, 20s));
  EXPECT_EQ(text_of("SELECT kind FROM container_runs ORDER BY rowid LIMIT 1"), "scheduled");
}

TEST_F(ScheduledRun, OwnIdleContainerIsStoppedForTheTask) {
  sb::namespaces::ContainerConfig lingering;
  lingering.idle_timeout_secs = 600;
  auto ns = make_namespace("alpha", {"slack:C1"}, lingering);
  start_manager(services());
  route(ns, slack_message("hello"));
  ASSERT_TRUE(wait_rows(1));
  schedule(task_for(ns, "echo after the message container"));
  auto r = next_result();
  EXPECT_EQ(status_text(r), "success") << r.error;
  EXPECT_EQ(r.result, "after the message container");
  ASSERT_TRUE(sb::test::wait_until(
      [&] { return scalar("SELECT count(*) FROM container_runs WHERE ended_at IS NOT NULL") == 2; }, 20s));
  EXPECT_GE(scalar("SELECT started_at FROM container_runs WHERE kind = 'scheduled'"),
            scalar("SELECT ended_at FROM container_runs WHERE kind = 'squad'"));
  // The next message gets a new container.
  route(ns, slack_message("again"));
  ASSERT_TRUE(wait_rows(2));
  EXPECT_NE(outbox_rows()[1].text.find("again"), std::string::npos);
}

TEST_F(ScheduledRun, BusyAgentFinishesItsTurnBeforeTheTaskRuns) {
  auto ns = make_namespace("alpha", {"slack:C1"});
  start_manager(services());
  route(ns, slack_message("warm up"));
  ASSERT_TRUE(wait_rows(1));
  // Freeze the agent so that its next turn is certainly still going when the task comes.
  auto running = runtime_->list({});
  ASSERT_TRUE(running.ok());
  ASSERT_EQ(running->size(), 1u);
  ASSERT_TRUE(runtime_->kill(running->front().id, SIGSTOP).ok());
  route(ns, slack_message("long turn"));
  ASSERT_TRUE(sb::test::wait_until(
      [&] { return scalar("SELECT count(*) FROM container_runs WHERE state = 'running'") == 1; }, 20s));
  schedule(task_for(ns, "echo task after the turn"));
  EXPECT_EQ(status_text(next_result(1500ms)), "none");  // waits for the turn
  EXPECT_EQ(scalar("SELECT count(*) FROM container_runs WHERE kind = 'scheduled'"), 0);
  ASSERT_TRUE(runtime_->kill(running->front().id, SIGCONT).ok());
  auto r = next_result();
  EXPECT_EQ(status_text(r), "success") << r.error;
  EXPECT_EQ(r.result, "task after the turn");
  ASSERT_TRUE(wait_rows(2));
  EXPECT_NE(outbox_rows()[1].text.find("long turn"), std::string::npos);  // the turn was answered
}

TEST_F(ScheduledRun, LimitOneTaskWaitsForABusyNamespaceAndTakesItsSlotWhenIdle) {
  config_.namespaces.max_concurrent_containers = 1;
  sb::namespaces::ContainerConfig lingering;
  lingering.idle_timeout_secs = 600;
  auto alpha = make_namespace("alpha", {"slack:C1"}, lingering);
  auto beta = make_namespace("beta", {"slack:C2"}, lingering);
  start_manager(services());
  route(beta, slack_message("warm up", "slack:C2"));
  ASSERT_TRUE(wait_rows(1));
  auto running = runtime_->list({});
  ASSERT_TRUE(running.ok());
  ASSERT_EQ(running->size(), 1u);
  ASSERT_TRUE(runtime_->kill(running->front().id, SIGSTOP).ok());
  route(beta, slack_message("busy turn", "slack:C2"));
  ASSERT_TRUE(sb::test::wait_until(
      [&] { return scalar("SELECT count(*) FROM container_runs WHERE state = 'running'") == 1; }, 20s));
  schedule(task_for(alpha, "echo took the slot"));
  EXPECT_EQ(status_text(next_result(1500ms)), "none");  // a busy namespace is never pre-empted
  ASSERT_TRUE(sb::test::wait_until([&] { return manager_status().detail.find("waiting 1") != std::string::npos; }, 20s))
      << manager_status().detail;
  ASSERT_TRUE(runtime_->kill(running->front().id, SIGCONT).ok());
  auto r = next_result();  // beta's turn ends, it goes idle and is stopped for the task
  EXPECT_EQ(status_text(r), "success") << r.error;
  EXPECT_EQ(r.result, "took the slot");
  ASSERT_TRUE(wait_rows(2));
  EXPECT_NE(outbox_rows()[1].text.find("busy turn"), std::string::npos);
  EXPECT_NE(text_of("SELECT ended_at FROM container_runs WHERE namespace_id = 'beta'"), "");
}

TEST_F(ScheduledRun, DeletedNamespaceAnswersItsGoingRunOnceAndItsContainerGoes) {
  auto ns = make_namespace("alpha", {});
  start_manager(services());
  schedule(task_for(ns, "sleep 60"));
  ASSERT_TRUE(sb::test::wait_until(
      [&] { return scalar("SELECT count(*) FROM container_runs WHERE state = 'running'") == 1; }, 30s));
  ASSERT_TRUE(store_->remove(ns.id).ok());
  caf::anon_send(manager_, sb::actors::reload_atom::value);
  auto r = next_result(30s);
  EXPECT_EQ(status_text(r), "error");
  EXPECT_NE(r.error.find("namespace stopped"), std::string::npos) << r.error;
  EXPECT_TRUE(no_containers_left());
  EXPECT_EQ(status_text(next_result(1s)), "none");
}

TEST_F(ScheduledRun, AnnouncementsGoToTheOwnChatOnceAndNeverToAForeignOne) {
  make_namespace("boss", {});  // the first namespace is the main one
  auto alpha = make_namespace("alpha", {"slack:C1"});
  make_namespace("beta", {"slack:C2"});
  start_manager(services());
  auto foreign = task_for(alpha, "echo not for beta", 1);
  foreign.announce_jid = "slack:C2";  // beta's chat: a non-main namespace may not
  schedule(foreign);
  auto r1 = next_result();
  EXPECT_EQ(status_text(r1), "success") << r1.error;  // a refused announcement is not fatal
  EXPECT_EQ(r1.result, "not for beta");
  auto own = task_for(alpha, "echo good morning; echo second line >&1", 2);
  own.announce_jid = "slack:C1";
  schedule(own);
  auto r2 = next_result();
  EXPECT_EQ(status_text(r2), "success") << r2.error;
  ASSERT_TRUE(wait_rows(1));
  ASSERT_FALSE(sb::test::wait_until([&] { return outbox_rows().size() > 1; }, 1s))
      << outbox_rows()[0].chat_jid << " " << outbox_rows()[0].text << " | " << outbox_rows()[1].chat_jid << " "
      << outbox_rows()[1].text << " " << outbox_rows()[1].key;
  auto rows = outbox_rows();
  EXPECT_EQ(rows[0].chat_jid, "slack:C1");
  EXPECT_EQ(rows[0].bot, "slack/main");
  EXPECT_EQ(rows[0].text, "good morning\nsecond line");
  EXPECT_EQ(rows[0].key, "task:2:0:0");
  EXPECT_EQ(rows[0].reply_to, "");
}

// -- without containers ----------------------------------------------------------------

class ScheduledRunNoRuntime : public ScheduledRunBase {};

TEST_F(ScheduledRunNoRuntime, UnknownNamespaceAndBadInputAreAnsweredAtOnce) {
  start_manager(services());
  sb::namespaces::Namespace ghost;
  ghost.id = "no-such-id";
  ghost.name = "ghost";
  schedule(task_for(ghost, "echo hi", 3));
  auto r = next_result(20s);
  EXPECT_EQ(status_text(r), "error");
  EXPECT_EQ(r.run_id, 3);
  EXPECT_NE(r.error.find("unknown namespace"), std::string::npos) << r.error;

  auto ns = make_namespace("alpha", {});
  auto bad = task_for(ns, "echo hi", 4);
  bad.context_mode = static_cast<sb::schedule::ContextMode>(7);  // neither group nor isolated
  schedule(bad);
  r = next_result(20s);
  EXPECT_EQ(status_text(r), "error");
  EXPECT_NE(r.error.find("context_mode"), std::string::npos) << r.error;
  EXPECT_EQ(status_text(next_result(500ms)), "none");
}

TEST_F(ScheduledRunNoRuntime, FailedStartIsAnError) {
  auto ns = make_namespace("alpha", {});
  start_manager(services());  // no runtime: every start fails
  schedule(task_for(ns, "echo hi"));
  auto r = next_result(20s);
  EXPECT_EQ(status_text(r), "error");
  EXPECT_NE(r.error.find("could not start"), std::string::npos) << r.error;
  EXPECT_EQ(status_text(next_result(500ms)), "none");
  // The namespace goes on: a second run is answered as well.
  schedule(task_for(ns, "echo again", 2));
  EXPECT_EQ(status_text(next_result(20s)), "error");
}

TEST_F(ScheduledRunNoRuntime, DeletedNamespaceAnswersItsQueuedRunsOnce) {
  auto ns = make_namespace("alpha", {});
  start_manager(not_ready(), /*ready=*/false);  // the runs stay queued
  schedule(task_for(ns, "echo one", 1));
  schedule(task_for(ns, "echo two", 2));
  ASSERT_TRUE(
      sb::test::wait_until([&] { return manager_status().detail.find("namespaces 1") != std::string::npos; }, 20s));
  ASSERT_TRUE(store_->remove(ns.id).ok());
  caf::anon_send(manager_, sb::actors::reload_atom::value);
  std::set<int64_t> answered;
  for (int i = 0; i < 2; ++i) {
    auto r = next_result(20s);
    EXPECT_EQ(status_text(r), "error");
    EXPECT_NE(r.error.find("namespace stopped"), std::string::npos) << r.error;
    answered.insert(r.run_id);
  }
  EXPECT_EQ(answered, (std::set<int64_t>{1, 2}));
  EXPECT_EQ(status_text(next_result(1s)), "none");
}

TEST(ScheduledRunRules, EveryHeldRunIsAnsweredExactlyOnce) {
  caf::actor_system_config cfg;
  sb::actors::configure_actor_system(cfg, sb::config::Config{});
  caf::actor_system system{cfg};
  caf::scoped_actor waiter{system};
  auto run = [&](int64_t id) {
    scheduled_run r;
    r.task_id = "t";
    r.run_id = id;
    r.reply_to = caf::actor_cast<caf::actor>(waiter);
    return r;
  };
  std::vector<scheduled_run_result> got;
  auto drain = [&] {
    bool more = true;
    while (more)
      waiter->receive([&](done_atom, const scheduled_run_result& r) { got.push_back(r); },
                      caf::after(300ms) >> [&] { more = false; });
  };
  {
    sb::actors::ScheduledRuns runs;
    runs.push(run(1));
    runs.push(run(2));
    runs.push(run(3));
    EXPECT_EQ(runs.start_next().run_id, 1);
    runs.finish(sb::schedule::RunStatus::success, "done", "");
    runs.finish(sb::schedule::RunStatus::success, "again", "");  // nothing going: no second answer
    EXPECT_EQ(runs.start_next().run_id, 2);
    EXPECT_TRUE(runs.going());
    EXPECT_EQ(runs.waiting(), 1u);
  }  // the actor ended: 2 (going) and 3 (waiting) are answered with an error
  drain();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].run_id, 1);
  EXPECT_EQ(status_text(got[0]), "success");
  EXPECT_EQ(got[0].result, "done");
  EXPECT_EQ(got[1].run_id, 2);
  EXPECT_EQ(status_text(got[1]), "error");
  EXPECT_EQ(got[2].run_id, 3);
  EXPECT_EQ(status_text(got[2]), "error");
}

}  // namespace
