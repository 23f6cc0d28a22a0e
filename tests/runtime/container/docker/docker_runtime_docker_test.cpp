// DockerRuntime against a real Docker Engine 26 that this test process starts itself
// (deploy/docker-engine.sh: Debian 13's docker.io unpacked into a cache folder) with a
// private data root and socket, and a busybox image imported from /bin/busybox.
// If the engine cannot be fetched or started, every test FAILS with the reason.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/container/docker/docker_json.hpp"
#include "runtime/container/docker/docker_runtime.hpp"
#include "runtime/container/docker/unix_http.hpp"
#include "tests/support/docker_engine.hpp"
#include "tests/support/temp_dir.hpp"

#ifndef SQUADBOX_SOURCE_DIR
#error "SQUADBOX_SOURCE_DIR must point at the source tree (deploy/docker-engine.sh)"
#endif

namespace sb::container::docker {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string kImage = test::kDockerTestImage;
using test::random_suffix;
using test::read_all;
using test::sh;
using Engine = test::DockerEngine;

Engine* g_engine = test::shared_docker_engine();

// Removes the container whatever the test's outcome.
class Guard {
 public:
  Guard(DockerRuntime& rt, std::string id) : rt_(rt), id_(std::move(id)) {}
  ~Guard() {
    if (auto s = rt_.remove(id_, true); !s) ADD_FAILURE() << "cleanup of " << id_ << ": " << s.error().message;
  }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

 private:
  DockerRuntime& rt_;
  std::string id_;
};

class DockerEngineTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(g_engine->ready()) << "Docker Engine not available: " << g_engine->error(); }
  DockerRuntime& rt() { return g_engine->runtime(); }

  ContainerSpec spec(std::vector<std::string> cmd) {
    ContainerSpec s;
    s.name = "sbtest-" + random_suffix();
    s.image = kImage;
    s.command = std::move(cmd);
    s.labels = {{kLabelInstall, install_}, {kLabelRun, s.name}};
    s.workdir = "/";
    return s;
  }

  // create + start + wait; output from the logs endpoint.
  struct Run {
    ExitStatus exit;
    std::string out;
  };
  Run run(const ContainerSpec& s, std::chrono::milliseconds timeout = 30s) {
    auto id = rt().create(s);
    EXPECT_TRUE(id) << id.error().message;
    if (!id) return {};
    Guard guard(rt(), *id);
    auto st = rt().start(*id);
    EXPECT_TRUE(st) << st.error().message;
    auto ex = rt().wait(*id, timeout);
    EXPECT_TRUE(ex) << ex.error().message;
    if (!ex) return {};
    return {*ex, logs(*id)};
  }

  // Non-TTY logs are multiplexed: 8-byte frame headers (stream, 0, 0, 0, big-endian size).
  std::string logs(const std::string& id) {
    auto r = rt().call("GET", "/containers/" + id + "/logs?stdout=1&stderr=1");
    EXPECT_TRUE(r && r->status == 200);
    if (!r) return {};
    std::string out;
    const std::string& b = r->body;
    size_t pos = 0;
    while (pos + 8 <= b.size()) {
      const size_t n = (size_t(uint8_t(b[pos + 4])) << 24) | (size_t(uint8_t(b[pos + 5])) << 16) |
                       (size_t(uint8_t(b[pos + 6])) << 8) | size_t(uint8_t(b[pos + 7]));
      out += b.substr(pos + 8, n);
      pos += 8 + n;
    }
    return out;
  }

  std::string install_ = "test-" + random_suffix();
};

TEST_F(DockerEngineTest, NegotiatesApiVersion) {
  auto v = rt().version();
  ASSERT_TRUE(v);
  EXPECT_EQ(v->backend, "docker");
  EXPECT_GE(compare_api_versions(v->api_version, "1.43"), 0) << v->api_version;
  EXPECT_LE(compare_api_versions(v->api_version, "1.45"), 0) << v->api_version;
  EXPECT_EQ(v->version.rfind("26.", 0), 0u) << v->version;
  EXPECT_EQ(rt().backend(), "docker");
}

TEST_F(DockerEngineTest, ExitCodeIsReported) {
  auto r = run(spec({"sh", "-c", "exit 7"}));
  EXPECT_EQ(r.exit.exit_code, 7);
  EXPECT_EQ(r.exit.signal, 0);
  EXPECT_FALSE(r.exit.oom_killed);
}

TEST_F(DockerEngineTest, KillEndsSleepingContainer) {
  auto id = rt().create(spec({"sleep", "600"}));
  ASSERT_TRUE(id) << id.error().message;
  Guard guard(rt(), *id);
  ASSERT_TRUE(rt().start(*id));
  auto info = rt().inspect(*id);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, ContainerState::running);
  EXPECT_GT(info->pid, 0);
  ASSERT_TRUE(rt().kill(*id, SIGKILL));
  auto ex = rt().wait(*id, 20s);
  ASSERT_TRUE(ex) << ex.error().message;
  EXPECT_EQ(ex->exit_code, 137);
  EXPECT_EQ(ex->signal, SIGKILL);
  EXPECT_FALSE(ex->oom_killed);
}

TEST_F(DockerEngineTest, WaitTimesOut) {
  auto id = rt().create(spec({"sleep", "600"}));
  ASSERT_TRUE(id);
  Guard guard(rt(), *id);
  ASSERT_TRUE(rt().start(*id));
  const auto t0 = std::chrono::steady_clock::now();
  auto ex = rt().wait(*id, 300ms);
  ASSERT_FALSE(ex);
  EXPECT_EQ(ex.error().code, "container.timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST_F(DockerEngineTest, RemoveForceAndIdempotent) {
  auto id = rt().create(spec({"sleep", "600"}));
  ASSERT_TRUE(id);
  Guard guard(rt(), *id);
  ASSERT_TRUE(rt().start(*id));
  auto refused = rt().remove(*id, false);  // running: needs force
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "container.conflict");
  EXPECT_FALSE(refused.error().message.empty());
  ASSERT_TRUE(rt().remove(*id, true));
  auto gone = rt().inspect(*id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, "container.not_found");
  EXPECT_NE(gone.error().message.find("No such container"), std::string::npos) << gone.error().message;
  EXPECT_TRUE(rt().remove(*id, true));  // unknown id: ok
  EXPECT_TRUE(rt().remove("sbtest-never-existed", false));
}

TEST_F(DockerEngineTest, ListSelectsByLabels) {
  auto s1 = spec({"true"});
  auto s2 = spec({"true"});
  s2.labels[kLabelNamespace] = "g2";
  auto a = rt().create(s1);
  ASSERT_TRUE(a);
  Guard ga(rt(), *a);
  auto b = rt().create(s2);
  ASSERT_TRUE(b);
  Guard gb(rt(), *b);

  auto both = rt().list({{kLabelInstall, install_}});
  ASSERT_TRUE(both) << both.error().message;
  std::vector<std::string> ids;
  for (const auto& c : *both) ids.push_back(c.id);
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> want{*a, *b};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ids, want);

  auto one = rt().list({{kLabelInstall, install_}, {kLabelNamespace, "g2"}});
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].id, *b);
  EXPECT_EQ((*one)[0].name, s2.name);
  EXPECT_EQ((*one)[0].state, ContainerState::created);
  EXPECT_EQ((*one)[0].labels.at(kLabelNamespace), "g2");

  EXPECT_TRUE(rt().list({{kLabelInstall, "nobody-" + random_suffix()}})->empty());
}

TEST_F(DockerEngineTest, EnvironmentIsOnlyTheSpecsPlusDockerDefaults) {
  setenv("SQUADBOX_HOST_ONLY", "leak", 1);  // must not reach the container
  auto s = spec({"env"});
  s.env = {{"ALPHA", "1"}, {"BETA", "two words"}};
  auto r = run(s);
  EXPECT_EQ(r.exit.exit_code, 0);
  std::istringstream lines(r.out);
  std::map<std::string, std::string> env;
  for (std::string line; std::getline(lines, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  EXPECT_EQ(env["ALPHA"], "1");
  EXPECT_EQ(env["BETA"], "two words");
  // Docker itself always sets PATH, HOSTNAME and HOME; nothing else may appear.
  for (const auto& [k, v] : env) {
    EXPECT_TRUE(k == "ALPHA" || k == "BETA" || k == "PATH" || k == "HOSTNAME" || k == "HOME") << k << "=" << v;
  }
}

TEST_F(DockerEngineTest, RunsAsNobody) {
  auto r = run(spec({"sh", "-c", "id -u; id -g"}));
  EXPECT_EQ(r.exit.exit_code, 0);
  EXPECT_EQ(r.out, "65534\n65534\n");
}

TEST_F(DockerEngineTest, NoNetworkButLoopback) {
  auto r = run(spec({"ls", "/sys/class/net"}));
  EXPECT_EQ(r.exit.exit_code, 0);
  EXPECT_EQ(r.out, "lo\n");
}

TEST_F(DockerEngineTest, RootIsReadOnlyTmpIsWritable) {
  auto r = run(spec({"sh", "-c", "touch /x 2>/dev/null && echo root-writable; touch /tmp/y && echo tmp-ok"}));
  EXPECT_EQ(r.exit.exit_code, 0);
  EXPECT_EQ(r.out, "tmp-ok\n");
}

TEST_F(DockerEngineTest, NoCapabilities) {
  auto r = run(spec({"sh", "-c", "grep -E '^Cap(Eff|Bnd)|^NoNewPrivs' /proc/self/status"}));
  EXPECT_NE(r.out.find("CapEff:\t0000000000000000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapBnd:\t0000000000000000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NoNewPrivs:\t1"), std::string::npos) << r.out;
}

TEST_F(DockerEngineTest, MemoryLimitOomKills) {
  auto s = spec({"sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"});
  s.limits.memory_bytes = 16ll << 20;
  auto r = run(s, 60s);
  EXPECT_TRUE(r.exit.oom_killed) << "exit " << r.exit.exit_code;
  EXPECT_EQ(r.exit.exit_code, 137);
}

TEST_F(DockerEngineTest, UnknownImageIsAClearError) {
  auto s = spec({"true"});
  s.image = "squadbox-test:missing";
  auto id = rt().create(s);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, "docker.no_image");
  EXPECT_NE(id.error().message.find("squadbox-test:missing"), std::string::npos) << id.error().message;
}

TEST_F(DockerEngineTest, ExtraArgsAreRefused) {
  auto s = spec({"true"});
  s.extra_args = {"--rm"};
  auto id = rt().create(s);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, "docker.unsupported");
}

TEST_F(DockerEngineTest, UnreachableSocketIsAnError) {
  DockerRuntime none(DockerOptions{"/nonexistent/docker.sock"});
  auto v = none.version();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, "docker.unavailable");
  EXPECT_FALSE(none.list({}));
}

// Timing lives in bench/container (bench_container --docker), not in a test.

}  // namespace
}  // namespace sb::container::docker
