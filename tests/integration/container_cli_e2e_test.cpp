// The container commands end to end through the real binary: image build, cowork,
// runtime status, and reconciliation after a SIGKILL of a process that owned a run.
#include <signal.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/container/oci/image_store.hpp"
#include "runtime/container/oci/oci_runtime.hpp"
#include "runtime/http/client.hpp"
#include "runtime/ipc/ipc_directory.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using sb::test::ChildProcess;
using sb::test::TempDir;
namespace fs = std::filesystem;

std::string squadbox() {
  return sb::test::bin_dir() + "/squadbox";
}

class ContainerCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "container tests need root (CI runs as root)";
    fs::create_directories(dir_.file("ws"));
    ChildProcess build(squadbox(), {"image", "build", "--data-dir", dir_.file("data")}, {}, dir_.file("build"));
    ASSERT_EQ(build.wait(60s), 0) << build.stderr_text();
  }
  // Containers of this data dir's install still known to crun.
  size_t containers_left() {
    sb::container::oci::ImageStore images(dir_.file("data") + "/images");
    sb::container::oci::OciRuntimeOptions o;
    o.state_dir = dir_.file("data") + "/oci/containers";
    o.runtime_root = dir_.file("data") + "/oci/state";
    sb::container::oci::OciRuntime rt(o, images);
    auto all = rt.list({});
    return all ? all->size() : 999;
  }
  TempDir dir_;
};

TEST_F(ContainerCli, CoworkPrintsTheAgentsReplyAndExitsZero) {
  ChildProcess cowork(
      squadbox(), {"cowork", "--data-dir", dir_.file("data"), "--workspace", dir_.file("ws"), "--", "hello", "world"},
      {}, dir_.file("cowork"));
  ASSERT_EQ(cowork.wait(60s), 0) << cowork.stderr_text();
  EXPECT_EQ(cowork.stdout_text(), "hello world\n");
  EXPECT_EQ(containers_left(), 0u);
  EXPECT_TRUE(fs::is_empty(dir_.file("ws"))) << "mount points left in the workspace";
}

TEST_F(ContainerCli, HostEnvironmentNeverReachesTheContainer) {
  ChildProcess cowork(squadbox(),
                      {"cowork", "--data-dir", dir_.file("data"), "--workspace", dir_.file("ws"), "--", "x"},
                      {{"SQUADBOX_CONTAINER_AGENT_MODE", "exec"},
                       {"SQUADBOX_CONTAINER_AGENT_COMMAND", R"(["/bin/sh","-c","env"])"},
                       {"SUPER_SECRET_HOST_KEY", "sk-live-123"},
                       {"SQUADBOX_CONTAINER_ENV_PASSTHROUGH", "ALLOWED_ONE"},
                       {"ALLOWED_ONE", "visible"}},
                      dir_.file("cowork"));
  ASSERT_EQ(cowork.wait(60s), 0) << cowork.stderr_text();
  auto out = cowork.stdout_text();
  EXPECT_EQ(out.find("sk-live-123"), std::string::npos) << out;
  EXPECT_EQ(out.find("SUPER_SECRET"), std::string::npos) << out;
  EXPECT_NE(out.find("ALLOWED_ONE=visible"), std::string::npos) << out;
  EXPECT_NE(out.find("SQUADBOX_AGENT_MODE=exec"), std::string::npos) << out;
}

TEST_F(ContainerCli, CoworkRejectsBadInputWithAClearMessage) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<Case> cases = {
      {{"--workspace", dir_.file("missing"), "--", "x"}, "is not a directory"},
      {{"--workspace", dir_.file("ws"), "--image", "nope:1", "--", "x"}, "squadbox image build"},
      {{"--workspace", dir_.file("ws"), "--mount", "../etc=/etc", "--", "x"}, "extra mount name"},
      {{"--workspace", dir_.file("ws"), "--mount", "noequals", "--", "x"}, "NAME=PATH"},
      {{"--workspace", dir_.file("ws"), "--timeout", "soon", "--", "x"}, "is not a duration"},
      {{"--workspace", dir_.file("ws"), "--image", "-x", "--", "x"}, ""},
  };
  int i = 0;
  for (auto& c : cases) {
    std::vector<std::string> args = {"cowork", "--data-dir", dir_.file("data")};
    args.insert(args.end(), c.args.begin(), c.args.end());
    ChildProcess p(squadbox(), args, {}, dir_.file("bad" + std::to_string(i++)));
    auto code = p.wait(60s);
    ASSERT_TRUE(code.has_value());
    EXPECT_NE(*code, 0) << c.args[1];
    EXPECT_NE(p.stderr_text().find(c.message), std::string::npos) << p.stderr_text();
  }
  EXPECT_EQ(containers_left(), 0u);
}

TEST_F(ContainerCli, CoworkHardTimeoutExits124) {
  ChildProcess cowork(
      squadbox(),
      {"cowork", "--data-dir", dir_.file("data"), "--workspace", dir_.file("ws"), "--timeout", "1s", "--", "x"},
      {{"SQUADBOX_CONTAINER_AGENT_MODE", "exec"},
       {"SQUADBOX_CONTAINER_AGENT_COMMAND", R"(["/bin/sh","-c","sleep 60"])"},
       {"SQUADBOX_CONTAINER_STOP_GRACE_MS", "200"}},
      dir_.file("cowork"));
  EXPECT_EQ(cowork.wait(30s), 124) << cowork.stderr_text();
  EXPECT_EQ(containers_left(), 0u);
}

TEST_F(ContainerCli, InterruptStopsAndRemovesTheContainer) {
  ChildProcess cowork(squadbox(),
                      {"cowork", "--data-dir", dir_.file("data"), "--workspace", dir_.file("ws"), "--", "x"},
                      {{"SQUADBOX_CONTAINER_AGENT_MODE", "exec"},
                       {"SQUADBOX_CONTAINER_AGENT_COMMAND", R"(["/bin/sh","-c","sleep 60"])"},
                       {"SQUADBOX_CONTAINER_STOP_GRACE_MS", "200"}},
                      dir_.file("cowork"));
  ASSERT_TRUE(sb::test::wait_until([&] { return containers_left() == 1; }, 30s));
  cowork.signal(SIGINT);
  EXPECT_EQ(cowork.wait(30s), 130) << cowork.stderr_text();
  EXPECT_EQ(containers_left(), 0u);
}

TEST_F(ContainerCli, KilledOwnerLeavesNoOrphanAfterTheNodeRestarts) {
  ChildProcess cowork(squadbox(),
                      {"cowork", "--data-dir", dir_.file("data"), "--workspace", dir_.file("ws"), "--", "x"},
                      {{"SQUADBOX_CONTAINER_AGENT_MODE", "exec"},
                       {"SQUADBOX_CONTAINER_AGENT_COMMAND", R"(["/bin/sh","-c","sleep 60"])"}},
                      dir_.file("cowork"));
  ASSERT_TRUE(sb::test::wait_until([&] { return containers_left() == 1; }, 30s));
  cowork.signal(SIGKILL);
  ASSERT_EQ(cowork.wait(10s), -SIGKILL);
  EXPECT_EQ(containers_left(), 1u) << "the container outlives its killed owner";

  ChildProcess node(squadbox(), {"serve", "--data-dir", dir_.file("data")}, {{"SQUADBOX_ADMIN_PORT", "0"}},
                    dir_.file("serve"));
  ASSERT_TRUE(sb::test::wait_until([&] { return fs::exists(dir_.file("data/admin.url")); }, 30s)) << node.stderr_text();
  EXPECT_EQ(containers_left(), 0u) << node.stderr_text();
  EXPECT_NE(node.stderr_text().find("container.reconciled_removed"), std::string::npos);

  // The node reports its runtime in the product's shape.
  std::string url, token;
  std::ifstream(dir_.file("data/admin.url")) >> url;
  std::ifstream(dir_.file("data/admin.token")) >> token;
  auto status =
      sb::http::request("GET", url + "/api/v1/container/runtime", {{"Authorization", "Bearer " + token}}, "", 5s);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->status, 200);
  EXPECT_NE(status->body.find(R"("available":true,"backend":"oci")"), std::string::npos) << status->body;
  EXPECT_NE(status->body.find(R"("networking":{"hostGateway":"","extraRunArgs":[]})"), std::string::npos);
  auto runs =
      sb::http::request("GET", url + "/api/v1/container/containers", {{"Authorization", "Bearer " + token}}, "", 5s);
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->status, 200);
  EXPECT_EQ(runs->body.front(), '[');
  node.signal(SIGTERM);
  EXPECT_EQ(node.wait(10s), 0);
}

TEST_F(ContainerCli, RuntimeStatusCommandAnswersTheProductShape) {
  ChildProcess status(squadbox(), {"runtime", "status", "--data-dir", dir_.file("data")}, {}, dir_.file("rs"));
  ASSERT_EQ(status.wait(30s), 0) << status.stderr_text();
  auto out = status.stdout_text();
  EXPECT_EQ(out.rfind(R"({"available":true,"backend":"oci","version":")", 0), 0u) << out;
  EXPECT_NE(out.find("crun"), std::string::npos);

  ChildProcess docker(squadbox(), {"runtime", "status", "--data-dir", dir_.file("data"), "--backend", "docker"},
                      {{"SQUADBOX_CONTAINER_DOCKER_SOCKET", dir_.file("no.sock")}}, dir_.file("rs2"));
  EXPECT_EQ(docker.wait(30s), 1);
  EXPECT_NE(docker.stdout_text().find(R"("available":false,"backend":"docker")"), std::string::npos)
      << docker.stdout_text();
}

}  // namespace

namespace {

// A run the database knows as live, whose container is still running when the node
// starts (as after a crash of the broker), is adopted and supervised again; a stray
// container of the same install is removed; SIGTERM then stops the adopted one.
TEST_F(ContainerCli, NodeAdoptsAKnownLiveRunAndRemovesStrays) {
  const std::string data = dir_.file("data");
  std::ofstream(data + "/install.id") << "adopt-test-install\n";
  {
    auto db = sb::storage::Database::open(data + "/squadbox.db", {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(sb::storage::migrate(*db).ok());
    ASSERT_TRUE(db->exec("INSERT INTO container_runs(id, namespace_id, kind, backend, image, state) "
                         "VALUES('run-live', 'main', 'squad', 'oci', 'squadbox-agent:latest', 'idle')")
                    .ok());
  }
  auto ipc = sb::ipc::IpcDirectory::create(data + "/runs/run-live/ipc");
  ASSERT_TRUE(ipc.ok()) << ipc.error().message;

  sb::container::oci::ImageStore images(data + "/images");
  sb::container::oci::OciRuntimeOptions o;
  o.state_dir = data + "/oci/containers";
  o.runtime_root = data + "/oci/state";
  sb::container::oci::OciRuntime rt(o, images);
  auto start = [&](const std::string& name, const std::string& run) {
    sb::container::ContainerSpec spec;
    spec.name = name;
    spec.image = "squadbox-agent:latest";
    spec.command = {"/bin/sleep", "120"};
    spec.labels = {{"io.squadbox.install", "adopt-test-install"}, {"io.squadbox.run", run}};
    auto id = rt.create(spec);
    EXPECT_TRUE(id.ok()) << id.error().message;
    EXPECT_TRUE(rt.start(*id).ok());
    return *id;
  };
  const std::string live = start("live", "run-live");
  const std::string stray = start("stray", "run-unknown");

  ChildProcess node(squadbox(), {"serve", "--data-dir", data},
                    {{"SQUADBOX_ADMIN_PORT", "0"}, {"SQUADBOX_CONTAINER_STOP_GRACE_MS", "200"}}, dir_.file("serve"));
  ASSERT_TRUE(sb::test::wait_until([&] { return fs::exists(data + "/admin.url"); }, 30s)) << node.stderr_text();
  ASSERT_TRUE(sb::test::wait_until(
      [&] { return node.stderr_text().find("event=container.adopted run=run-live") != std::string::npos; }, 10s))
      << node.stderr_text();
  auto left = rt.list({});
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u) << node.stderr_text();
  EXPECT_EQ((*left)[0].id, live);
  EXPECT_EQ((*left)[0].state, sb::container::ContainerState::running);

  std::string url, token;
  std::ifstream(data + "/admin.url") >> url;
  std::ifstream(data + "/admin.token") >> token;
  ASSERT_TRUE(sb::test::wait_until(
      [&] {
        auto runs = sb::http::request("GET", url + "/api/v1/container/containers?state=idle",
                                      {{"Authorization", "Bearer " + token}}, "", 5s);
        return runs.ok() && runs->body.find("\"id\":\"run-live\"") != std::string::npos;
      },
      10s));

  node.signal(SIGTERM);
  EXPECT_EQ(node.wait(20s), 0) << node.stderr_text();
  EXPECT_EQ(containers_left(), 0u) << "the adopted container was not stopped";
  (void)stray;
}

}  // namespace
