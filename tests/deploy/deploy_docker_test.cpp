// deploy/Dockerfile and deploy/compose.yaml against a real Docker Engine (the private one of
// deploy/docker-engine.sh; docs/deploy.md). No registry is reachable on the test machine, so
// the base image is a Debian 12 rootfs made from the mirror (`docker-engine.sh rootfs`,
// cached) and imported; the broker image is `--target prebuilt` with this build's binaries;
// the compose file's database is tests/deploy/postgres (the official image's contract).
//   DeployImage.ServesAndAnswersALocalChat   one container, the oci backend with the
//                                            capabilities docs/deploy.md lists (not privileged)
//   DeployCompose.ThreeNodesAnswerLocalChats docker-compose (Debian 12's 1.29) up: three
//                                            nodes on one PostgreSQL, /healthz and a chat each
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/http/client.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/docker_engine.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;

sb::test::DockerEngine* const g_deploy_engine = sb::test::shared_docker_engine();

const std::string kBaseImage = "squadbox-deploy-base:bookworm";
const std::string kBrokerImage = "squadbox-deploy:test";
const std::string kPostgresImage = "squadbox-deploy-pg:test";

std::string source_dir() {
  return SQUADBOX_SOURCE_DIR;
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// A free TCP port on loopback (bound and released; the container binds it next).
uint16_t deploy_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// Someone listens on the port (SO_REUSEADDR: a TIME_WAIT left by an earlier run is no
// conflict, the nodes and PostgreSQL bind with it too).
bool port_in_use(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool busy = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0;
  ::close(fd);
  return busy;
}

bool healthz_ok(uint16_t port) {
  auto r = sb::http::request("GET", "http://127.0.0.1:" + std::to_string(port) + "/healthz", {}, "", 2s);
  return r.ok() && r->status == 200;
}

// A command run to its end: exit code (nullopt at the timeout) and its output.
struct DeployRun {
  std::optional<int> code;
  std::string out, err;
  std::string text() const { return "exit " + (code ? std::to_string(*code) : "timeout") + "\n" + out + err; }
};

DeployRun deploy_run(const std::string& exe, const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env, const std::string& prefix,
                     std::chrono::milliseconds timeout) {
  sb::test::ChildProcess p(exe, args, env, prefix);
  DeployRun r;
  r.code = p.wait(timeout);
  r.out = p.stdout_text();
  r.err = p.stderr_text();
  return r;
}

// POST /build of a context tarball; "" on success, else the reason (with the build log).
std::string docker_build(const std::string& context_tar, const std::string& dockerfile, const std::string& tag,
                         const std::string& target, const std::string& buildargs_json) {
  std::string path = "/build?t=" + url_encode(tag) + "&dockerfile=" + url_encode(dockerfile) +
                     "&networkmode=host&rm=1&forcerm=1&buildargs=" + url_encode(buildargs_json);
  if (!target.empty()) path += "&target=" + url_encode(target);
  auto r = g_deploy_engine->runtime().call("POST", path, sb::test::read_all(context_tar), "application/x-tar", 600s);
  if (!r) return "build of " + tag + " failed: " + r.error().message;
  if (r->status != 200 || r->body.find("errorDetail") != std::string::npos)
    return "build of " + tag + " failed: HTTP " + std::to_string(r->status) + "\n" + r->body;
  return {};
}

// The images both tests use, made once per binary: the imported base, the broker image
// (target prebuilt, this build's binaries) and the PostgreSQL stand-in.
class DeployImages {
 public:
  static DeployImages& get() {
    static DeployImages images;
    return images;
  }
  const std::string& error() const { return error_; }

 private:
  DeployImages() : dir_("sbdeploy-ctx") {
    const auto t0 = std::chrono::steady_clock::now();
    if (!g_deploy_engine->ready()) {
      error_ = "docker engine: " + g_deploy_engine->error();
      return;
    }
    // The base: Debian 12 minbase + the runtime packages + postgresql-15 (cached tarball).
    auto rootfs = deploy_run(source_dir() + "/deploy/docker-engine.sh", {"rootfs"}, {}, dir_.file("rootfs"), 900s);
    std::string tar = rootfs.out.substr(0, rootfs.out.find('\n'));
    if (rootfs.code != 0 || tar.empty()) {
      error_ = "deploy/docker-engine.sh rootfs failed: " + rootfs.text();
      return;
    }
    auto imported =
        g_deploy_engine->runtime().call("POST", "/images/create?fromSrc=-&repo=squadbox-deploy-base&tag=bookworm",
                                        sb::test::read_all(tar), "application/x-tar", 300s);
    if (!imported || imported->status != 200 || imported->body.find("errorDetail") != std::string::npos) {
      error_ = "import of " + tar + " failed: " + (imported ? imported->body : imported.error().message);
      return;
    }
    const auto t1 = std::chrono::steady_clock::now();
    // The broker image's context: the deploy files and this build's two binaries (BIN_DIR=bin).
    const std::string ctx = dir_.file("broker");
    const std::string bin = sb::test::bin_dir();
    if (sb::test::sh("set -e; mkdir -p " + ctx + "/deploy " + ctx + "/bin; cd " + source_dir() +
                     "/deploy; cp Dockerfile docker-entrypoint.sh prepare-host.sh install-deps.sh " + ctx +
                     "/deploy/; cp " + bin + "/squadbox " + bin + "/squadbox-agent " + ctx + "/bin/; tar -C " + ctx +
                     " -cf " + ctx + ".tar .") != 0) {
      error_ = "cannot make the build context from " + bin;
      return;
    }
    const std::string args = R"({"BASE_IMAGE":")" + kBaseImage + R"(","BIN_DIR":"bin"})";
    if (error_ = docker_build(ctx + ".tar", "deploy/Dockerfile", kBrokerImage, "prebuilt", args); !error_.empty())
      return;
    const std::string pg = dir_.file("pg.tar");
    if (sb::test::sh("tar -C " + source_dir() + "/tests/deploy/postgres -cf " + pg + " .") != 0) {
      error_ = "cannot tar tests/deploy/postgres";
      return;
    }
    if (error_ = docker_build(pg, "Dockerfile", kPostgresImage, "", R"({"BASE_IMAGE":")" + kBaseImage + R"("})");
        !error_.empty())
      return;
    const auto t2 = std::chrono::steady_clock::now();
    std::printf("deploy images: base rootfs + import %.1f s, broker (prebuilt) + postgres builds %.1f s\n",
                std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count());
  }
  sb::test::TempDir dir_;
  std::string error_;
};

// ---- one container ------------------------------------------------------------------------

class DeployImage : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(g_deploy_engine->ready()) << g_deploy_engine->error();
    ASSERT_EQ(DeployImages::get().error(), "");
  }
  void TearDown() override {
    if (!id_.empty()) {
      if (HasFailure()) {
        auto logs = g_deploy_engine->runtime().call("GET", "/containers/" + id_ + "/logs?stdout=1&stderr=1");
        if (logs) std::printf("container log:\n%s\n", logs->body.c_str());
      }
      // A graceful stop first: the node stops its agent containers, and crun removes their
      // cgroups (the container shares the host's cgroup hierarchy).
      (void)g_deploy_engine->runtime().call("POST", "/containers/" + id_ + "/stop?t=20", {}, {}, 60s);
      (void)g_deploy_engine->runtime().call("DELETE", "/containers/" + id_ + "?force=1");
    }
  }
  std::string id_;
};

// The oci backend (crun) inside the container, with the narrow set docs/deploy.md lists
// instead of --privileged: CAP_SYS_ADMIN, no seccomp/AppArmor profile, unmasked /proc and
// /sys paths, the host's cgroup namespace and a writable /sys/fs/cgroup.
TEST_F(DeployImage, ServesAndAnswersALocalChat) {
  sb::test::TempDir data("sbdeploy-data");
  const uint16_t port = deploy_free_port();
  ASSERT_NE(port, 0);
  const std::string body = R"({"Image":")" + kBrokerImage + R"(","Env":["SQUADBOX_ADMIN_PORT=)" + std::to_string(port) +
                           R"("],"HostConfig":{"NetworkMode":"host","CapAdd":["SYS_ADMIN"],)"
                           R"("SecurityOpt":["seccomp=unconfined","apparmor=unconfined"],)"
                           // the API's form of `--security-opt systempaths=unconfined`
                           R"("MaskedPaths":[],"ReadonlyPaths":[],)"
                           R"("CgroupnsMode":"host","Binds":[")" +
                           data.path() + R"(:/var/lib/squadbox","/sys/fs/cgroup:/sys/fs/cgroup:rw"]}})";
  auto created = g_deploy_engine->runtime().call(
      "POST", "/containers/create?name=sbdeploy-" + sb::test::random_suffix(), body, "application/json");
  ASSERT_TRUE(created) << created.error().message;
  ASSERT_EQ(created->status, 201) << created->body;
  const auto at = created->body.find(R"("Id":")");
  ASSERT_NE(at, std::string::npos) << created->body;
  id_ = created->body.substr(at + 6, 64);
  auto started = g_deploy_engine->runtime().call("POST", "/containers/" + id_ + "/start");
  ASSERT_TRUE(started) << started.error().message;
  ASSERT_EQ(started->status, 204) << started->body;

  ASSERT_TRUE(sb::test::wait_until([&] { return healthz_ok(port); }, 90s)) << "no /healthz 200 on port " << port;
  std::string token;
  std::ifstream(data.file("admin.token")) >> token;
  ASSERT_FALSE(token.empty());
  // The host's squadbox CLI against the container's admin API.
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  const std::string cli = sb::test::bin_dir() + "/squadbox";
  auto added = deploy_run(cli, {"ns", "add", "main", "--url", url, "--token", token}, {}, data.file("ns-add"), 60s);
  ASSERT_EQ(added.code, 0) << added.text();
  auto chat = deploy_run(cli, {"chat", "main", "hello", "from", "the", "image", "--url", url, "--token", token}, {},
                         data.file("chat"), 120s);
  ASSERT_EQ(chat.code, 0) << chat.text();
  EXPECT_NE(chat.out.find("hello from the image"), std::string::npos) << chat.text();
  // The agent ran in a crun container inside the broker's container: its image is there.
  EXPECT_TRUE(std::filesystem::exists(data.file("images/squadbox-agent/latest/image.json")));
}

// ---- compose --------------------------------------------------------------------------------

class DeployCompose : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(g_deploy_engine->ready()) << g_deploy_engine->error();
    ASSERT_EQ(DeployImages::get().error(), "");
    env_ = {{"DOCKER_HOST", "unix://" + g_deploy_engine->socket()},
            // compose 1.29 runs `exec` through the docker CLI unless told to use the API.
            {"COMPOSE_INTERACTIVE_NO_CLI", "1"},
            {"SQUADBOX_IMAGE", kBrokerImage},
            {"SQUADBOX_POSTGRES_IMAGE", kPostgresImage}};
    project_ = "sbdeploy" + sb::test::random_suffix();
  }
  void TearDown() override {
    if (up_) {
      if (HasFailure()) std::printf("compose logs:\n%s\n", compose({"logs", "--no-color"}, "logs", 60s).text().c_str());
      auto down = compose({"down", "-v", "--timeout", "15"}, "down", 120s);
      EXPECT_EQ(down.code, 0) << down.text();
    }
  }
  DeployRun compose(std::vector<std::string> args, const std::string& tag, std::chrono::milliseconds timeout) {
    std::vector<std::string> all{"--ansi", "never", "-p", project_, "-f", source_dir() + "/deploy/compose.yaml"};
    all.insert(all.end(), args.begin(), args.end());
    return deploy_run("/usr/bin/docker-compose", all, env_, dir_.file(tag), timeout);
  }
  sb::test::TempDir dir_{"sbdeploy-compose"};
  std::map<std::string, std::string> env_;
  std::string project_;
  bool up_ = false;
};

TEST_F(DeployCompose, ThreeNodesAnswerLocalChats) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/docker-compose"))
      << "docker-compose is missing: deploy/install-deps.sh --tests installs it";
  // The compose file's fixed loopback ports (deploy/compose.yaml).
  for (uint16_t p : {55432, 55801, 55802, 55803, 55811, 55812, 55813}) ASSERT_FALSE(port_in_use(p)) << "port " << p;
  up_ = true;
  auto up = compose({"up", "-d"}, "up", 300s);
  ASSERT_EQ(up.code, 0) << up.text();
  for (int n = 1; n <= 3; ++n) {
    const uint16_t port = static_cast<uint16_t>(55800 + n);
    ASSERT_TRUE(sb::test::wait_until([&] { return healthz_ok(port); }, 90s)) << "node" << n << ": no /healthz 200";
  }
  // A local chat on each node, through the CLI inside the node's container: the three form
  // one cluster, so each namespace runs on whichever node owns it and the reply comes back
  // to the node that was asked (docs/cluster.md).
  for (int n = 1; n <= 3; ++n) {
    const std::string node = "node" + std::to_string(n), ns = "ns" + std::to_string(n);
    auto added = compose({"exec", "-T", node, "squadbox", "ns", "add", ns}, node + "-ns", 120s);
    ASSERT_EQ(added.code, 0) << added.text();
    auto chat = compose({"exec", "-T", node, "squadbox", "chat", ns, "hello", "from", node}, node + "-chat", 120s);
    ASSERT_EQ(chat.code, 0) << chat.text();
    EXPECT_NE(chat.out.find("hello from " + node), std::string::npos) << chat.text();
  }
}

}  // namespace
