// IPC permissions wired into the ContainerSupervisor: the run's namespace (never the
// payload) is the sender; a denied file never reaches the listener, the allowed one
// does, and the denial is counted and audited. A fake runtime stands in for the
// container (nothing runs); the test writes the agent's files itself.
#include "runtime/ipc/ipc_permissions.hpp"

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include <gtest/gtest.h>

#include "actors/containers/container_supervisor.hpp"
#include "runtime/ipc/ipc_fs.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using namespace sb::actors;
namespace fs = std::filesystem;
namespace container = sb::container;

// A container that "runs" until it is killed or removed.
class FakeRuntime : public container::ContainerRuntime {
 public:
  std::string backend() const override { return "fake"; }
  sb::Result<container::RuntimeVersion> version() override { return container::RuntimeVersion{"fake", "1", ""}; }
  sb::Result<std::string> create(const container::ContainerSpec&) override { return std::string("fake-1"); }
  sb::Status start(const std::string&) override { return {}; }
  sb::Result<container::ExitStatus> wait(const std::string&, std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [&] { return ended_; }))
      return sb::make_error("container.timeout", "still running");
    return container::ExitStatus{143, false, 15};
  }
  sb::Status kill(const std::string&, int) override { return end(); }
  sb::Status remove(const std::string&, bool) override { return end(); }
  sb::Result<std::vector<container::ContainerInfo>> list(const container::Labels&) override {
    return std::vector<container::ContainerInfo>{};
  }
  sb::Result<container::ContainerInfo> inspect(const std::string&) override {
    return sb::make_error("container.not_found", "fake");
  }

 private:
  sb::Status end() {
    std::lock_guard lock(mutex_);
    ended_ = true;
    cv_.notify_all();
    return {};
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  bool ended_ = false;
};

struct Audit {
  std::mutex mutex;
  std::vector<sb::AuditRecord> records;
  size_t size() {
    std::lock_guard lock(mutex);
    return records.size();
  }
};

struct SupervisorIpcPermissions : ::testing::Test, sb::test::ActorSystemFixture {
  sb::test::TempDir dir{"squadbox-ipcperm"};
  sb::metrics::Registry metrics;
  std::shared_ptr<Audit> audit = std::make_shared<Audit>();

  ContainerRunOptions options(caf::scoped_actor& self, bool main_namespace) {
    ContainerRunOptions o;
    o.run_id = "perm-run";
    o.namespace_name = "family";
    o.main_namespace = main_namespace;
    o.install_id = "test-install";
    o.run_dir = dir.file("run");
    o.spec.name = "sbtest-perm";
    o.spec.image = "squadbox-agent:latest";
    o.runtime = std::make_shared<FakeRuntime>();
    o.listener = caf::actor_cast<sb::actors::run_listener_actor>(self);
    o.metrics = &metrics;
    o.ownership = std::make_shared<const sb::ipc::IpcOwnership>(
        sb::ipc::IpcOwnership{[](const std::string& jid) -> std::optional<std::string> {
                                if (jid == "tg:2") return std::string("family");
                                if (jid == "tg:3") return std::string("work");
                                return std::nullopt;
                              },
                              {}});
    o.audit = [a = audit](sb::AuditRecord r) {
      if (!r.event.starts_with("ipc.")) return;  // the run's lifecycle is audited too
      std::lock_guard lock(a->mutex);
      a->records.push_back(std::move(r));
    };
    return o;
  }

  // Receives listener messages until `done` holds or the deadline passes.
  template <class Pred>
  bool pump(caf::scoped_actor& self, std::vector<sb::container::RunOutput>& outputs, bool& finished, Pred done) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      self->receive([&](output_atom, const sb::container::RunOutput& o) { outputs.push_back(o); },
                    [&](state_atom, const sb::container::RunTransition&) {},
                    [&](done_atom, const sb::container::RunResult&) { finished = true; }, caf::after(left) >> [] {});
    }
    return true;
  }

  void put(const std::string& name, const std::string& json) {
    ASSERT_TRUE(sb::ipc::write_atomic(dir.file("run/ipc/messages"), name, json).ok());
  }
};

TEST_F(SupervisorIpcPermissions, NonMainRunForwardsOnlyAllowedMessages) {
  caf::scoped_actor self{system};
  auto run = spawn_container_supervisor(system, options(self, false));
  std::vector<sb::container::RunOutput> outputs;
  bool finished = false;
  ASSERT_TRUE(pump(self, outputs, finished, [&] { return fs::exists(dir.file("run/ipc/messages")); }));

  using sb::ipc::OutboundMessage;
  // The forged fields claim main; the run's namespace says family.
  put(sb::ipc::make_name(1, 1),
      R"({"type":"message","text":"denied","chatJid":"tg:3","isMain":true,"groupFolder":"main"})");
  put(sb::ipc::make_name(1, 2), sb::ipc::encode(OutboundMessage{"own chat", std::nullopt, std::string("tg:2")}));
  put(sb::ipc::make_name(1, 3), sb::ipc::encode(OutboundMessage{"reply", std::nullopt, std::nullopt}));
  ASSERT_TRUE(pump(self, outputs, finished, [&] { return outputs.size() >= 2; }));
  EXPECT_EQ(outputs[0].text, "own chat");
  EXPECT_EQ(outputs[0].chat_jid, "tg:2");
  EXPECT_EQ(outputs[1].text, "reply");

  EXPECT_TRUE(fs::exists(dir.file("run/ipc/errors/messages-" + sb::ipc::make_name(1, 1))));
  ASSERT_EQ(audit->size(), 1u);
  {
    std::lock_guard lock(audit->mutex);
    EXPECT_EQ(audit->records[0].actor, "ipc:family");
    EXPECT_EQ(audit->records[0].event, "ipc.denied");
    EXPECT_EQ(audit->records[0].subject, sb::ipc::make_name(1, 1));
    EXPECT_NE(audit->records[0].detail.find(R"("namespace":"family")"), std::string::npos) << audit->records[0].detail;
  }
  EXPECT_NE(metrics.render().find(R"(squadbox_ipc_denied_total{rule="ipc.send.foreign_chat"} 1)"), std::string::npos);

  self->send(run, stop_atom::value);
  ASSERT_TRUE(pump(self, outputs, finished, [&] { return finished; }));
  EXPECT_EQ(outputs.size(), 2u) << "the denied message must never be forwarded";
}

TEST_F(SupervisorIpcPermissions, MainRunMaySendToAnyChat) {
  caf::scoped_actor self{system};
  auto run = spawn_container_supervisor(system, options(self, true));
  std::vector<sb::container::RunOutput> outputs;
  bool finished = false;
  ASSERT_TRUE(pump(self, outputs, finished, [&] { return fs::exists(dir.file("run/ipc/messages")); }));
  put(sb::ipc::make_name(1, 1),
      sb::ipc::encode(sb::ipc::OutboundMessage{"to work", std::nullopt, std::string("tg:3")}));
  put(sb::ipc::make_name(1, 2),
      sb::ipc::encode(sb::ipc::OutboundMessage{"anywhere", std::nullopt, std::string("tg:404")}));
  ASSERT_TRUE(pump(self, outputs, finished, [&] { return outputs.size() >= 2; }));
  EXPECT_EQ(outputs[0].chat_jid, "tg:3");
  EXPECT_EQ(outputs[1].chat_jid, "tg:404");
  EXPECT_EQ(audit->size(), 0u);
  self->send(run, stop_atom::value);
  ASSERT_TRUE(pump(self, outputs, finished, [&] { return finished; }));
}

}  // namespace
