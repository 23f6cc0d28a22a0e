// The ContainerSupervisor on the docker backend, against a real Docker Engine.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>

#include <gtest/gtest.h>

#include "actors/containers/container_supervisor.hpp"
#include "actors/node/node.hpp"
#include "runtime/container/docker/docker_runtime.hpp"
#include "runtime/container/env_policy.hpp"
#include "runtime/container/oci/image_store.hpp"
#include "tests/support/docker_engine.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::container::docker {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

using test::random_suffix;
using test::read_all;
using test::sh;

test::DockerEngine* g_engine = test::shared_docker_engine();

class ContainerSupervisorDocker : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(g_engine->ready()) << "Docker Engine not available: " << g_engine->error(); }
  DockerRuntime& rt() { return g_engine->runtime(); }
  std::string install_ = "test-" + random_suffix();
};

// The ContainerSupervisor with the docker backend: the real agent image (the oci
// store's default image, imported into the engine as a tarball) answers a turn, and a
// container killed mid-turn is restarted with the input re-delivered.
TEST_F(ContainerSupervisorDocker, SupervisedTurnAndCrashRestartWithTheAgentImage) {
  using namespace sb::actors;
  test::TempDir dir("sbdock-run");
  oci::ImageStore store(dir.file("images"));
  char self_exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
  ASSERT_GT(n, 0);
  const std::string bin = fs::path(std::string(self_exe, static_cast<size_t>(n))).parent_path().string();
  ASSERT_TRUE(store.build_default_image(bin + "/squadbox-agent").ok());
  auto resolved = store.resolve("squadbox-agent:latest");
  ASSERT_TRUE(resolved.ok());
  ASSERT_EQ(sh("tar -C " + resolved->rootfs.string() + " -cf " + dir.file("agent.tar") + " ."), 0);
  auto imported = rt().call("POST", "/images/create?fromSrc=-&repo=squadbox-agent-docker&tag=test",
                            read_all(dir.file("agent.tar")), "application/x-tar", 60s);
  ASSERT_TRUE(imported && imported->status == 200) << (imported ? imported->body : imported.error().message);

  caf::actor_system_config cfg;
  configure_actor_system(cfg, sb::config::Config{});
  caf::actor_system system{cfg};
  caf::scoped_actor self{system};
  auto shared = std::shared_ptr<ContainerRuntime>(&rt(), [](ContainerRuntime*) {});  // owned by the engine
  ContainerRunOptions r;
  r.run_id = "docker-" + random_suffix();
  r.namespace_name = "main";
  r.install_id = install_;
  r.run_dir = dir.file("run");
  r.spec.name = "sbtest-" + r.run_id;
  r.spec.image = "squadbox-agent-docker:test";
  r.spec.command = {"/usr/local/bin/squadbox-agent"};
  r.spec.env = EnvPolicy{}.build({{"SQUADBOX_IPC_DIR", "/workspace/ipc"},
                                  {"SQUADBOX_AGENT_MODE", "exec"},
                                  {"SQUADBOX_AGENT_COMMAND", R"(["/bin/sh","-c","sleep 1; cat"])"}},
                                 {});
  r.restart.backoff_base = 50ms;
  r.restart.budget = 2;
  r.runtime = shared;
  r.listener = caf::actor_cast<sb::actors::run_listener_actor>(self);
  auto run = spawn_container_supervisor(system, r);
  self->send(run, deliver_atom::value, std::string("in-1"), std::string("through docker"));

  std::vector<sb::container::RunOutput> outputs;
  std::vector<std::string> states;
  std::optional<sb::container::RunResult> result;
  auto pump = [&](auto until) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!until()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      self->receive([&](output_atom, const sb::container::RunOutput& o) { outputs.push_back(o); },
                    [&](state_atom, const sb::container::RunTransition& t) {
                      states.push_back(std::string(container::to_string(t.to)));
                    },
                    [&](done_atom, const sb::container::RunResult& res) { result = res; }, caf::after(left) >> [] {});
    }
    return true;
  };
  auto saw = [&](const char* s) { return std::find(states.begin(), states.end(), s) != states.end(); };
  ASSERT_TRUE(pump([&] { return saw("running"); }));
  std::string cid;
  self->request(run, 10s, status_atom::value)
      .receive([&](const component_status& st) { cid = st.detail; }, [](caf::error&) {});
  ASSERT_FALSE(cid.empty());
  ASSERT_TRUE(rt().kill(cid, SIGKILL));  // mid-turn: the agent is still sleeping
  ASSERT_TRUE(pump([&] { return !outputs.empty(); }));
  EXPECT_NE(outputs[0].text.find("through docker"), std::string::npos) << outputs[0].text;
  EXPECT_TRUE(saw("failed"));
  EXPECT_TRUE(saw("backoff"));
  self->send(run, close_atom::value);
  ASSERT_TRUE(pump([&] { return result.has_value(); }));
  EXPECT_EQ(result->final_state, container::RunState::exited);
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->restarts, 1u);
  auto left = rt().list({{kLabelRun, r.run_id}});
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty()) << "container left behind";
}

}  // namespace
}  // namespace sb::container::docker
