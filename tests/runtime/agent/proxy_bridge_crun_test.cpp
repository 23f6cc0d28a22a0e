// The agent runner inside a real crun container (root; the default agent image with
// the real squadbox-agent): its own network namespace has a working loopback, and
// http://127.0.0.1:PORT inside reaches a unix socket server on the host through the
// IPC mount (busybox nc as the client). llm mode reaches the same socket directly.
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include <gtest/gtest.h>

#include "runtime/container/mount_policy.hpp"
#include "runtime/container/oci/image_store.hpp"
#include "runtime/container/oci/oci_runtime.hpp"
#include "runtime/ipc/ipc_directory.hpp"
#include "runtime/ipc/ipc_watcher.hpp"
#include "tests/runtime/agent/unix_server.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/oci_test_runtime.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace oci = sb::container::oci;
using Env = std::map<std::string, std::string>;

class AgentInContainer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_EQ(sb::test::prepare_container_host(), ""); }

  void SetUp() override {
    auto oci = sb::test::make_oci_test_runtime(dir_.path(), "agent-test");
    ASSERT_TRUE(oci.ok()) << oci.error().message;
    images_ = std::move(oci->images);
    runtime_ = std::move(oci->runtime);
    // The host side of a run: the IPC dir owned for the container uid, and the proxy
    // socket in it, connectable by that uid.
    ipc_.emplace(sb::ipc::IpcDirectory::create(dir_.file("run/ipc"), {65534u, 65534u}).value());
  }

  void TearDown() override {
    if (!runtime_) return;
    if (auto all = runtime_->list({})) {
      for (const auto& c : *all) EXPECT_TRUE(runtime_->remove(c.id, true).ok()) << c.id;
    }
  }

  std::string socket_path() const { return ipc_->root() + "/proxy.sock"; }

  // Runs the image's entrypoint (squadbox-agent) as a oneshot with `env`; returns
  // (exit code, reply text of the prompt turn or the turn_done error).
  std::pair<int, std::string> run_agent(Env env) {
    sb::container::ContainerSpec s;
    s.name = "sbagent-" + std::to_string(::getpid());
    s.image = oci::kDefaultAgentImage;
    s.limits = {64ll << 20, 64, 1000};
    env.emplace("SQUADBOX_IPC_DIR", "/workspace/ipc");
    env.emplace("SQUADBOX_PROXY_SOCKET", "/workspace/ipc/proxy.sock");
    env.emplace("SQUADBOX_AGENT_ONESHOT", "1");
    env.emplace("SQUADBOX_PROMPT", "go");
    env.emplace("HOME", "/tmp");
    s.env = env;
    // As in every real run: a workspace at /workspace, the IPC dir at /workspace/ipc.
    std::string workspace = dir_.file("workspace");
    // The workspace is mounted read-only (a non-main group's): the runtime cannot create
    // the IPC mount point inside it, so it exists beforehand, as in a prepared group dir.
    fs::create_directories(workspace + "/ipc");
    sb::container::RunMountRequest request;
    request.workspace = workspace;
    request.ipc_dir = ipc_->root();
    auto mounts = sb::container::MountPolicy::validate(request);
    EXPECT_TRUE(mounts.ok()) << mounts.error().message;
    if (!mounts) return {-1, ""};
    s.mounts = *mounts;
    auto id = runtime_->create(s);
    EXPECT_TRUE(id.ok()) << id.error().message;
    if (!id) return {-1, ""};
    EXPECT_TRUE(runtime_->start(*id).ok());
    auto exit = runtime_->wait(*id, 60s);
    EXPECT_TRUE(exit.ok()) << exit.error().message;
    EXPECT_TRUE(runtime_->remove(*id, true).ok());

    auto watcher = sb::ipc::IpcWatcher::open(ipc_->root()).value();
    std::string text;
    for (auto& d : watcher.drain()) {
      if (auto* m = std::get_if<sb::ipc::OutboundMessage>(&d.payload)) text = m->text;
      if (auto* t = std::get_if<sb::ipc::TurnDone>(&d.payload); t && !t->ok) text = "turn failed: " + t->error;
    }
    return {exit ? exit->exit_code : -1, text};
  }

  sb::test::TempDir dir_{"squadbox-agent-ct"};
  std::unique_ptr<oci::ImageStore> images_;
  std::shared_ptr<oci::OciRuntime> runtime_;
  std::optional<sb::ipc::IpcDirectory> ipc_;
};

TEST_F(AgentInContainer, LoopbackBridgeReachesTheHostUnixSocket) {
  std::mutex mu;
  std::optional<sb::test::SeenRequest> seen;
  sb::test::UnixServer server(
      socket_path(),
      [&](int fd) {
        auto req = sb::test::read_http_request(fd);
        if (!req) return;
        {
          std::lock_guard<std::mutex> lk(mu);
          seen = req;
        }
        sb::test::write_all(fd, "HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nhost saw " + req->method + " " +
                                    req->target + " with " + req->headers["x-api-key"]);
      },
      0666);
  // Inside: lo's flags (0x9 = UP|LOOPBACK) and one HTTP request to 127.0.0.1:3001 with
  // busybox nc, whose output (the host's answer) becomes the turn's reply.
  auto [code, reply] = run_agent(
      {{"SQUADBOX_PROXY_PORT", "3001"},
       {"SQUADBOX_AGENT_MODE", "exec"},
       {"SQUADBOX_AGENT_COMMAND",
        R"(["/bin/sh","-c","echo lo=$(cat /sys/class/net/lo/flags); printf 'GET /anthropic/v1/models HTTP/1.0\\r\\nx-api-key: sbp_ct\\r\\n\\r\\n' | nc -w 10 127.0.0.1 $SQUADBOX_PROXY_PORT"])"}});
  EXPECT_EQ(code, 0);
  EXPECT_NE(reply.find("lo=0x9"), std::string::npos) << reply;
  EXPECT_NE(reply.find("host saw GET /anthropic/v1/models with sbp_ct"), std::string::npos) << reply;
  std::lock_guard<std::mutex> lk(mu);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->target, "/anthropic/v1/models");
}

TEST_F(AgentInContainer, LlmModeTalksToTheProxySocketAsTheContainerUid) {
  std::mutex mu;
  std::vector<sb::test::SeenRequest> seen;
  sb::test::UnixServer server(
      socket_path(),
      [&](int fd) {
        auto req = sb::test::read_http_request(fd);
        if (!req) return;
        {
          std::lock_guard<std::mutex> lk(mu);
          seen.push_back(*req);
        }
        std::string body =
            R"({"id":"m","type":"message","role":"assistant","content":[{"type":"text","text":"from the host"}],"stop_reason":"end_turn"})";
        sb::test::write_all(fd, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " +
                                    std::to_string(body.size()) + "\r\n\r\n" + body);
      },
      0666);
  auto [code, reply] = run_agent({{"SQUADBOX_AGENT_MODE", "llm"},
                                  {"SQUADBOX_PROXY_TOKEN", "sbp_container_token"},
                                  {"SQUADBOX_PROXY_PORT", "3001"},
                                  {"SQUADBOX_SESSION_DIR", "/tmp/session"}});
  EXPECT_EQ(code, 0);
  EXPECT_EQ(reply, "from the host");
  std::lock_guard<std::mutex> lk(mu);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/anthropic/v1/messages");
  EXPECT_EQ(seen[0].headers["x-api-key"], "sbp_container_token");
}

}  // namespace
