// Scheduling from inside a real crun container: the agent (exec mode, a shell script in
// the workspace) writes tasks/ files the way any agent would (tmp + rename) and replies
// with the current_tasks.json it can read. The ContainerSupervisor applies the allowed
// schedule to a real TaskStore for the run's group, a cancel of another group's task is
// denied (errors/ + ipc.denied audit), a bad schedule lands in errors/ with its reason,
// and the snapshot the container sees follows. Without a TaskIpc task payloads are refused.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include <gtest/gtest.h>

#include "actors/containers/container_supervisor.hpp"
#include "actors/containers/ipc_task_desk.hpp"
#include "runtime/container/env_policy.hpp"
#include "runtime/container/oci/image_store.hpp"
#include "runtime/container/oci/oci_runtime.hpp"
#include "storage/chat_directory.hpp"
#include "storage/namespace_store.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/oci_test_runtime.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using namespace sb::actors;
namespace fs = std::filesystem;
namespace oci = sb::container::oci;
namespace sched = sb::schedule;

// Turn "schedule" writes three task files; every turn replies with the snapshot it reads.
constexpr const char* kAgentScript = R"sh(#!/bin/sh
put() { printf '%s' "$2" > "/workspace/ipc/tasks/$1.tmp" && mv "/workspace/ipc/tasks/$1.tmp" "/workspace/ipc/tasks/$1"; }
if grep -q schedule; then
  put 0000000000001-000000001.json '{"type":"schedule_task","prompt":"water the plants","schedule_type":"interval","schedule_value":"3600000","context_mode":"group"}'
  put 0000000000001-000000002.json '{"type":"cancel_task","taskId":"@WORK_TASK@"}'
  put 0000000000001-000000003.json '{"type":"schedule_task","prompt":"never","schedule_type":"cron","schedule_value":"61 * * * *"}'
fi
cat /workspace/ipc/current_tasks.json 2>&1 || true
)sh";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Audit {
  std::mutex mutex;
  std::vector<sb::AuditRecord> records;
  std::vector<sb::AuditRecord> with_prefix(const std::string& prefix) {
    std::lock_guard lock(mutex);
    std::vector<sb::AuditRecord> out;
    for (const auto& r : records)
      if (r.event.starts_with(prefix)) out.push_back(r);
    return out;
  }
};

class IpcTasksInContainer : public ::testing::Test, public sb::test::ActorSystemFixture {
 protected:
  static void SetUpTestSuite() { ASSERT_EQ(sb::test::prepare_container_host(), ""); }

  void SetUp() override {
    auto oci = sb::test::make_oci_test_runtime(dir_.path(), "test-install");
    ASSERT_TRUE(oci.ok()) << oci.error().message;
    images_ = std::move(oci->images);
    runtime_ = std::move(oci->runtime);

    const std::string db = dir_.file("squadbox.db");
    auto ns = sb::storage::NamespaceStore::open(db, dir_.path());
    ASSERT_TRUE(ns) << ns.error().message;
    namespaces_ = std::move(*ns);
    for (const char* name : {"main", "family", "work"}) {
      sb::namespaces::NamespacePatch p;
      p.name = name;
      ASSERT_TRUE(namespaces_->create(p));
    }
    sb::namespaces::MappingRequest m;
    m.jid = "tg:2";
    m.namespace_ref = "family";
    ASSERT_TRUE(namespaces_->map(m));
    auto store = sb::storage::TaskStore::open(db);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    tasks_ = std::make_shared<sb::actors::TaskIpc>(store_, sb::storage::open_chat_directory(db));
    work_task_ = create("work", "work task");
    create("family", "family task");

    workspace_ = dir_.file("ws");
    fs::create_directories(workspace_);
    std::string script = kAgentScript;
    script.replace(script.find("@WORK_TASK@"), 11, work_task_);
    std::ofstream(workspace_ + "/agent.sh") << script;
    ::chmod((workspace_ + "/agent.sh").c_str(), 0755);
    ::chown(workspace_.c_str(), 65534, 65534);
  }

  void TearDown() override {
    if (!runtime_) return;
    if (auto all = runtime_->list({})) {
      for (const auto& c : *all) EXPECT_TRUE(runtime_->remove(c.id, true).ok()) << c.id;
    }
  }

  std::string create(const std::string& group, const std::string& prompt) {
    sched::TaskPatch p;
    p.name = prompt;
    p.group = group;
    p.prompt = prompt;
    p.schedule = sched::ScheduleSpec{sched::ScheduleType::interval, "60000"};
    auto t = store_->create(p);
    EXPECT_TRUE(t) << t.error().message;
    return t.ok() ? t->id : "";
  }

  ContainerRunOptions options(const std::string& run_id, caf::scoped_actor& self) {
    ContainerRunOptions r;
    r.run_id = run_id;
    r.namespace_name = "family";
    r.install_id = "test-install";
    r.run_dir = dir_.file("runs/" + run_id);
    r.spec.name = "sbtest-" + run_id;
    r.spec.image = "squadbox-agent:latest";
    r.spec.limits = {64ll << 20, 64, 1000};
    r.spec.env = sb::container::EnvPolicy{}.build({{"SQUADBOX_IPC_DIR", "/workspace/ipc"},
                                                   {"HOME", "/tmp"},
                                                   {"SQUADBOX_AGENT_MODE", "exec"},
                                                   {"SQUADBOX_AGENT_COMMAND", R"(["/bin/sh","/workspace/agent.sh"])"}},
                                                  {});
    r.mounts.workspace = workspace_;
    r.mounts.workspace_read_write = true;
    r.runtime = runtime_;
    r.metrics = &metrics_;
    r.listener = caf::actor_cast<sb::actors::run_listener_actor>(self);
    r.audit = [a = audit_](sb::AuditRecord rec) {
      std::lock_guard lock(a->mutex);
      a->records.push_back(std::move(rec));
    };
    return r;
  }

  // Receives listener messages until `until` holds or the deadline passes.
  template <class Pred>
  bool pump(caf::scoped_actor& self, Pred until, std::chrono::milliseconds timeout = 30s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!until()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      self->receive([&](output_atom, const sb::container::RunOutput& o) { outputs_.push_back(o); },
                    [&](state_atom, const sb::container::RunTransition&) {},
                    [&](done_atom, const sb::container::RunResult& r) { result_ = r; }, caf::after(left) >> [] {});
    }
    return true;
  }

  std::vector<sched::Task> family_tasks() {
    sched::TaskFilter f;
    f.group = "family";
    auto all = store_->list(f);
    return all ? *all : std::vector<sched::Task>{};
  }

  sb::test::TempDir dir_;
  std::unique_ptr<oci::ImageStore> images_;
  std::shared_ptr<oci::OciRuntime> runtime_;
  std::unique_ptr<sb::storage::NamespaceStore> namespaces_;
  std::shared_ptr<sb::storage::TaskStore> store_;
  std::shared_ptr<sb::actors::TaskIpc> tasks_;
  std::string work_task_;
  std::string workspace_;
  sb::metrics::Registry metrics_;
  std::shared_ptr<Audit> audit_ = std::make_shared<Audit>();
  std::vector<sb::container::RunOutput> outputs_;
  std::optional<sb::container::RunResult> result_;
};

TEST_F(IpcTasksInContainer, ScheduleAllowedForItselfDeniedForOthers) {
  caf::scoped_actor self{system};
  auto opts = options("ipctask1", self);
  opts.tasks = tasks_;
  opts.ownership = sb::actors::ipc_ownership(tasks_);
  const std::string ipc = opts.run_dir + "/ipc";
  auto run = spawn_container_supervisor(system, opts);
  self->send(run, deliver_atom::value, std::string("in-1"), std::string("schedule"));

  // The snapshot the container read before its files were applied: family's task only.
  ASSERT_TRUE(pump(self, [&] { return !outputs_.empty(); })) << "no reply";
  EXPECT_NE(outputs_[0].text.find("family task"), std::string::npos) << outputs_[0].text;
  EXPECT_EQ(outputs_[0].text.find("work task"), std::string::npos) << "another group's task leaked";

  // The allowed schedule is in the store, in the run's group.
  ASSERT_TRUE(sb::test::wait_until([&] { return family_tasks().size() == 2; }, 20s));
  std::optional<sched::Task> created;
  for (const auto& t : family_tasks())
    if (t.prompt == "water the plants") created = t;
  ASSERT_TRUE(created);
  EXPECT_EQ(created->name, "ipc: water the plants");
  EXPECT_EQ(created->announce_jid, "tg:2");
  EXPECT_EQ(created->context_mode, sched::ContextMode::group);

  // The cancel of work's task was denied by the watcher; the bad cron failed in TaskIpc.
  const std::string denied = ipc + "/errors/tasks-0000000000001-000000002.json";
  const std::string invalid = ipc + "/errors/tasks-0000000000001-000000003.json";
  ASSERT_TRUE(sb::test::wait_until([&] { return fs::exists(invalid + ".reason"); }, 20s));
  EXPECT_TRUE(fs::exists(denied));
  EXPECT_TRUE(read_file(denied + ".reason").starts_with("ipc.task.foreign: ")) << read_file(denied + ".reason");
  EXPECT_TRUE(read_file(invalid + ".reason").starts_with("invalid_field: schedule.value: cron"))
      << read_file(invalid + ".reason");
  EXPECT_NE(read_file(invalid).find("61 * * * *"), std::string::npos) << "the payload is kept for the operator";
  EXPECT_TRUE(store_->get(work_task_)) << "work's task survived";

  ASSERT_TRUE(sb::test::wait_until([&] { return audit_->with_prefix("task.").size() == 1; }, 10s));
  auto changes = audit_->with_prefix("task.");
  EXPECT_EQ(changes[0].event, "task.created");
  EXPECT_EQ(changes[0].actor, "ipc:family");
  EXPECT_EQ(changes[0].subject, created->id);
  auto denials = audit_->with_prefix("ipc.denied");
  ASSERT_EQ(denials.size(), 1u);
  EXPECT_EQ(denials[0].actor, "ipc:family");
  EXPECT_NE(denials[0].detail.find("ipc.task.foreign"), std::string::npos) << denials[0].detail;
  auto rendered = metrics_.render();
  EXPECT_NE(rendered.find(R"(squadbox_ipc_task_actions_total{action="created",result="ok"} 1)"), std::string::npos)
      << rendered;
  EXPECT_NE(rendered.find(R"(squadbox_ipc_task_actions_total{action="created",result="error"} 1)"), std::string::npos);

  // The host refreshed the snapshot after the action; the container reads it as its uid.
  const std::string snapshot = ipc + "/current_tasks.json";
  ASSERT_TRUE(
      sb::test::wait_until([&] { return read_file(snapshot).find("water the plants") != std::string::npos; }, 10s));
  struct stat st {};
  ASSERT_EQ(::stat(snapshot.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_mode & 0777, 0400u);
  self->send(run, deliver_atom::value, std::string("in-2"), std::string("show"));
  ASSERT_TRUE(pump(self, [&] { return outputs_.size() >= 2; })) << "no second reply";
  EXPECT_NE(outputs_[1].text.find("water the plants"), std::string::npos) << outputs_[1].text;
  EXPECT_EQ(outputs_[1].text.find("work task"), std::string::npos);

  self->send(run, close_atom::value);
  ASSERT_TRUE(pump(self, [&] { return result_.has_value(); }));
  EXPECT_EQ(result_->final_state, sb::container::RunState::exited);
}

TEST_F(IpcTasksInContainer, WithoutSchedulingTaskFilesAreRefused) {
  caf::scoped_actor self{system};
  auto opts = options("ipctask2", self);  // no tasks, no ownership
  const std::string ipc = opts.run_dir + "/ipc";
  auto run = spawn_container_supervisor(system, opts);
  self->send(run, deliver_atom::value, std::string("in-1"), std::string("schedule"));
  ASSERT_TRUE(pump(self, [&] { return !outputs_.empty(); })) << "no reply";
  EXPECT_NE(outputs_[0].text.find("No such file"), std::string::npos)
      << "no snapshot without scheduling: " << outputs_[0].text;
  const std::string refused = ipc + "/errors/tasks-0000000000001-000000001.json";
  ASSERT_TRUE(sb::test::wait_until([&] { return fs::exists(refused + ".reason"); }, 20s));
  EXPECT_EQ(read_file(refused + ".reason"), "ipc.scheduling_unavailable: scheduling not available\n");
  EXPECT_TRUE(family_tasks().size() == 1) << "nothing was created";
  self->send(run, close_atom::value);
  ASSERT_TRUE(pump(self, [&] { return result_.has_value(); }));
}

}  // namespace
