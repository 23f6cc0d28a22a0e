// The ContainerSupervisor's mount step with the allowlist: an allowed extra mount
// reaches the agent (real crun, real squadbox-agent), a denied one ends the run before
// any container exists, and both decisions reach the run's AuditSink.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include <gtest/gtest.h>

#include "actors/containers/container_supervisor.hpp"
#include "actors/node/node.hpp"
#include "runtime/container/env_policy.hpp"
#include "runtime/container/oci/image_store.hpp"
#include "runtime/container/oci/oci_runtime.hpp"
#include "runtime/security/allowlist/allowlist_store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using namespace sb::actors;
namespace fs = std::filesystem;
namespace oci = sb::container::oci;

class AllowlistRun : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "container tests need root (CI runs as root)";
    ASSERT_EQ(std::system(SB_SOURCE_DIR "/deploy/prepare-host.sh >/dev/null"), 0);
    base = fs::canonical(dir.path()).string();
    images = std::make_unique<oci::ImageStore>(base + "/images");
    auto built = images->build_default_image(sb::test::bin_dir() + "/squadbox-agent");
    ASSERT_TRUE(built.ok()) << built.error().message;
    oci::OciRuntimeOptions o;
    o.state_dir = base + "/oci/containers";
    o.runtime_root = base + "/oci/state";
    o.install_id = "allowlist-test";
    runtime = std::make_shared<oci::OciRuntime>(o, *images);
    for (const char* d : {"ws", "projects/data", "projects/.aws"}) fs::create_directories(base + "/" + d);
    ::chown((base + "/ws").c_str(), 65534, 65534);
    std::ofstream(base + "/projects/data/f") << "from the allowed root";
    fs::permissions(base + "/projects/data/f", fs::perms(0644));
    std::ofstream(base + "/allowlist.json") << R"({"allowedRoots":[{"path":")" << base << R"(/projects"}]})";
    store = std::make_shared<sb::security::allowlist::AllowlistStore>(
        sb::security::allowlist::AllowlistStoreOptions{base + "/allowlist.json", {}, {}, false});
  }
  void TearDown() override {
    if (!runtime) return;
    if (auto all = runtime->list({})) {
      for (const auto& c : *all) EXPECT_TRUE(runtime->remove(c.id, true).ok()) << c.id;
    }
  }

  ContainerRunOptions options(const std::string& run_id, std::vector<sb::container::ExtraMountRequest> extras) {
    ContainerRunOptions r;
    r.run_id = run_id;
    r.namespace_name = "team";
    r.install_id = "allowlist-test";
    r.run_dir = base + "/runs/" + run_id;
    r.spec.name = "sbtest-" + run_id;
    r.spec.image = "squadbox-agent:latest";
    r.spec.limits = {64ll << 20, 64, 1000};
    r.spec.env =
        sb::container::EnvPolicy{}.build({{"SQUADBOX_IPC_DIR", "/workspace/ipc"},
                                          {"HOME", "/tmp"},
                                          {"SQUADBOX_AGENT_MODE", "exec"},
                                          {"SQUADBOX_AGENT_COMMAND", R"(["/bin/cat","/workspace/extra/data/f"])"}},
                                         {});
    r.mounts.workspace = base + "/ws";
    r.mounts.workspace_read_write = true;
    r.mounts.extras = std::move(extras);
    r.restart.budget = 0;
    r.runtime = runtime;
    r.allowlist = store;
    r.audit = [this](sb::AuditRecord rec) {
      std::lock_guard lock(mu);
      audit.push_back(std::move(rec));
    };
    return r;
  }
  std::vector<sb::AuditRecord> audited(const std::string& event) {
    std::lock_guard lock(mu);
    std::vector<sb::AuditRecord> out;
    for (const auto& r : audit)
      if (r.event == event) out.push_back(r);
    return out;
  }

  sb::test::TempDir dir{"sb-allowlist-run"};
  std::string base;
  std::unique_ptr<oci::ImageStore> images;
  std::shared_ptr<oci::OciRuntime> runtime;
  std::shared_ptr<sb::security::allowlist::AllowlistStore> store;
  std::mutex mu;
  std::vector<sb::AuditRecord> audit;
  caf::actor_system_config cfg;
  caf::actor_system system{[this]() -> caf::actor_system_config& {
    configure_actor_system(cfg, sb::config::Config{});
    return cfg;
  }()};
};

TEST_F(AllowlistRun, AllowedExtraMountReachesTheAgent) {
  caf::scoped_actor self{system};
  auto run = options("ok", {{"data", base + "/projects/data", false}});
  run.listener = caf::actor_cast<sb::actors::run_listener_actor>(self);
  auto sup = spawn_container_supervisor(system, run);
  self->send(sup, deliver_atom::value, std::string("m1"), std::string("read it"));
  std::string reply;
  bool done = false;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (reply.empty() && !done && std::chrono::steady_clock::now() < deadline) {
    self->receive([&](output_atom, const sb::container::RunOutput& o) { reply = o.text + o.error; },
                  [&](state_atom, const sb::container::RunTransition&) {},
                  [&](done_atom, const sb::container::RunResult&) { done = true; }, caf::after(1s) >> [] {});
  }
  EXPECT_EQ(reply, "from the allowed root");
  self->send(sup, close_atom::value);  // the agent exits; the run ends
  deadline = std::chrono::steady_clock::now() + 60s;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    self->receive([&](output_atom, const sb::container::RunOutput&) {},
                  [&](state_atom, const sb::container::RunTransition&) {},
                  [&](done_atom, const sb::container::RunResult&) { done = true; }, caf::after(1s) >> [] {});
  }
  EXPECT_TRUE(done);
  auto allowed = audited("mount.allowed");
  ASSERT_EQ(allowed.size(), 1u);
  EXPECT_EQ(allowed[0].subject, base + "/projects/data");
  EXPECT_NE(allowed[0].detail.find("\"group\":\"team\""), std::string::npos) << allowed[0].detail;
  // The lifecycle is in the audit trail too, in order, with the namespace.
  auto running = audited("container.running");
  ASSERT_FALSE(running.empty());
  EXPECT_NE(running[0].detail.find("\"namespace\":\"team\""), std::string::npos) << running[0].detail;
  EXPECT_EQ(audited("container.exited").size(), 1u);
}

TEST_F(AllowlistRun, DeniedExtraMountEndsTheRunBeforeAnyContainer) {
  caf::scoped_actor self{system};
  auto run = options("denied", {{"keys", base + "/projects/.aws", false}});
  run.listener = caf::actor_cast<sb::actors::run_listener_actor>(self);
  auto sup = spawn_container_supervisor(system, run);
  std::optional<sb::container::RunResult> result;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!result && std::chrono::steady_clock::now() < deadline) {
    self->receive([&](output_atom, const sb::container::RunOutput&) {},
                  [&](state_atom, const sb::container::RunTransition&) {},
                  [&](done_atom, const sb::container::RunResult& r) { result = r; }, caf::after(1s) >> [] {});
  }
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->final_state, sb::container::RunState::dead);
  EXPECT_NE(result->detail.find("blocked_pattern"), std::string::npos) << result->detail;
  auto all = runtime->list({});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty()) << "no container was created";
  auto denied = audited("mount.denied");
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(denied[0].subject, base + "/projects/.aws");
  auto dead = audited("container.dead");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_NE(dead[0].detail.find("blocked_pattern"), std::string::npos) << dead[0].detail;
}

TEST_F(AllowlistRun, NoAllowlistNoExtraMounts) {
  caf::scoped_actor self{system};
  auto run = options("none", {{"data", base + "/projects/data", false}});
  run.allowlist = nullptr;
  run.listener = caf::actor_cast<sb::actors::run_listener_actor>(self);
  auto sup = spawn_container_supervisor(system, run);
  std::optional<sb::container::RunResult> result;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!result && std::chrono::steady_clock::now() < deadline) {
    self->receive([&](output_atom, const sb::container::RunOutput&) {},
                  [&](state_atom, const sb::container::RunTransition&) {},
                  [&](done_atom, const sb::container::RunResult& r) { result = r; }, caf::after(1s) >> [] {});
  }
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->final_state, sb::container::RunState::dead);
  EXPECT_NE(result->detail.find("allowlist_unavailable"), std::string::npos) << result->detail;
}

}  // namespace
