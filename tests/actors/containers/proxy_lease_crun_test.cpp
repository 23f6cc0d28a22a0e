// Proof that a real API key never enters a container (security layer 4). A real crun
// container, started by the ContainerSupervisor with a credential proxy whose route
// secret is a fresh random key, dumps its environment (env, /proc/1/environ, every
// /proc/N/environ it can read) and archives every file it can read outside /proc and
// /sys. The host searches those dumps, the whole test directory (OCI bundle, run
// directory, container logs), the broker's log output, audit records and metrics:
// the key is nowhere. The placeholder token the container saw works during the run and
// gets 401 afterwards, on the socket of another lease that is still alive.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "actors/containers/container_supervisor.hpp"
#include "actors/node/node.hpp"
#include "runtime/container/env_policy.hpp"
#include "runtime/container/oci/image_store.hpp"
#include "runtime/container/oci/oci_runtime.hpp"
#include "runtime/core/log.hpp"
#include "runtime/proxy/credential_proxy.hpp"
#include "runtime/proxy/token_registry.hpp"
#include "tests/runtime/proxy/unix_client.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using namespace sb::actors;
namespace fs = std::filesystem;
namespace oci = sb::container::oci;

std::string random_hex(size_t bytes) {
  std::random_device rd;
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", static_cast<unsigned>(rd() & 0xff));
    out += b;
  }
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every regular file under `root` whose bytes contain `needle`.
std::vector<std::string> files_containing(const fs::path& root, const std::string& needle, size_t* scanned) {
  std::vector<std::string> hits;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    ++*scanned;
    if (slurp(it->path()).find(needle) != std::string::npos) hits.push_back(it->path().string());
  }
  return hits;
}

// Runs in the container as uid 65534, with no network.
constexpr const char* kScript = R"(
out=/workspace/out
mkdir -p $out
env > $out/env.txt
cat /proc/1/environ > $out/proc1_environ.bin
cat /proc/self/environ > $out/self_environ.bin
for f in /proc/[0-9]*/environ; do cat $f; echo; done > $out/all_environ.bin 2>/dev/null
cat /proc/net/dev > $out/netdev.txt
[ -S /workspace/ipc/proxy.sock ] && echo socket-ok > $out/socket.txt
# Every file this uid can read outside /proc and /sys, for the host to search.
tar -C / -cf $out/rootfs.tar bin dev etc home sbin tmp usr var workspace/ipc 2>/dev/null
echo "$SQUADBOX_PROXY_TOKEN" > $out/token.tmp && mv $out/token.tmp $out/token.txt
# Stay up until the host has used the token through the socket.
i=0
while [ ! -e /workspace/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
exit 0
)";

TEST(CredentialProxyContainer, RealKeyNeverEntersTheContainer) {
  ASSERT_EQ(::geteuid(), 0u) << "container tests need root (CI runs as root)";
  ASSERT_EQ(std::system(SB_SOURCE_DIR "/deploy/prepare-host.sh >/dev/null"), 0);
  sb::test::TempDir dir("sb-proxy-proof");
  sb::test::TempDir pki_dir("sb-proxy-proof-pki");
  const std::string key = "sk-ant-proof-" + random_hex(24);

  // Broker-side log output of the whole run goes to a file we search afterwards.
  const std::string log_path = dir.file("broker.log");
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(log_fd, 0);
  sb::log::configure(sb::log::Level::debug, sb::log::Format::logfmt);
  sb::log::set_fd(log_fd);

  auto pki = sb::test::TestPki::generate(pki_dir.path());
  sb::test::FakeUpstream upstream({true, pki.cert_file, pki.key_file});
  upstream.set_handler([](const sb::test::RecordedRequest&) {
    return sb::test::UpstreamReply::json(200, R"({"type":"message","content":[{"type":"text","text":"hi"}]})");
  });

  sb::config::ProxyConfig pc;
  pc.ca_file = pki.ca_file;
  pc.routes["anthropic"] = sb::config::ProxyRoute{upstream.url(), "x-api-key", "", "anthropic", {}};
  std::mutex audit_mutex;
  std::vector<sb::AuditRecord> audit;
  sb::metrics::Registry metrics;
  auto created = sb::proxy::CredentialProxy::create(
      pc,
      [&](const std::string& name) -> sb::Result<sb::Secret> {
        if (name == "anthropic") return sb::Secret(key);
        return sb::make_error("vault.not_found", name);
      },
      [&](sb::AuditRecord r) {
        std::lock_guard lock(audit_mutex);
        audit.push_back(std::move(r));
      },
      &metrics);
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto proxy = *created;
  auto other = proxy->open_lease({"other-run", "main", dir.file("other.sock"), std::nullopt, std::nullopt});
  ASSERT_TRUE(other.ok());

  oci::ImageStore images(fs::path(dir.path()) / "images");
  ASSERT_TRUE(images.build_default_image("/bin/busybox", "proof-agent:1").ok());
  oci::OciRuntimeOptions o;
  o.state_dir = fs::path(dir.path()) / "oci" / "containers";
  o.runtime_root = fs::path(dir.path()) / "oci" / "state";
  o.install_id = "proof-install";
  fs::create_directories(o.state_dir);
  auto runtime = std::make_shared<oci::OciRuntime>(o, images);
  const std::string workspace = dir.file("ws");
  fs::create_directories(workspace);
  ASSERT_EQ(::chown(workspace.c_str(), 65534, 65534), 0);

  caf::actor_system_config cfg;
  configure_actor_system(cfg, sb::config::Config{});
  {
    caf::actor_system system{cfg};
    caf::scoped_actor self{system};
    ContainerRunOptions r;
    r.run_id = "proof-run";
    r.namespace_name = "main";
    r.install_id = "proof-install";
    r.run_dir = dir.file("runs/proof-run");
    r.spec.name = "sbproof-run";
    r.spec.image = "proof-agent:1";
    r.spec.command = {"/bin/sh", "-c", kScript};
    r.spec.limits = {64ll << 20, 64, 1000};
    r.spec.env = sb::container::EnvPolicy{}.build({{"HOME", "/tmp"}}, {});
    r.mounts.workspace = workspace;
    r.mounts.workspace_read_write = true;
    r.restart.budget = 0;
    r.runtime = runtime;
    r.metrics = &metrics;
    r.listener = caf::actor_cast<sb::actors::run_listener_actor>(self);
    r.proxy = proxy;
    auto run = spawn_container_supervisor(system, r);

    // The container published the token it was given: use it through its socket.
    const std::string token_file = workspace + "/out/token.txt";
    ASSERT_TRUE(sb::test::wait_until([&] { return fs::exists(token_file); }, 60s)) << slurp(log_path);
    std::string token = slurp(token_file);
    while (!token.empty() && token.back() == '\n') token.pop_back();
    ASSERT_TRUE(sb::proxy::TokenRegistry::well_formed(token)) << token;
    const std::string socket_path = r.run_dir + "/ipc/proxy.sock";
    {
      sb::test::UnixClient c(socket_path);
      auto reply = c.request("POST", "/anthropic/v1/messages",
                             {{"x-api-key", token}, {"anthropic-version", "2023-06-01"}}, R"({"max_tokens":1})");
      EXPECT_EQ(reply.status, 200) << reply.body;
      ASSERT_EQ(upstream.request_count(), 1u);
      EXPECT_EQ(upstream.requests()[0].header("x-api-key"), key);
    }
    EXPECT_EQ(proxy->active_leases(), 2u);
    std::ofstream(workspace + "/go") << "go";

    std::optional<sb::container::RunResult> result;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!result && std::chrono::steady_clock::now() < deadline) {
      self->receive([&](done_atom, const sb::container::RunResult& res) { result = res; },
                    [&](output_atom, const sb::container::RunOutput&) {},
                    [&](state_atom, const sb::container::RunTransition&) {}, caf::after(1s) >> [] {});
    }
    ASSERT_TRUE(result) << "the run did not end";
    EXPECT_EQ(result->exit_code, 0) << sb::container::describe(*result);
    EXPECT_EQ(result->final_state, sb::container::RunState::exited);

    // The container is gone: its token is dead everywhere, its socket removed.
    EXPECT_EQ(proxy->active_leases(), 1u);
    EXPECT_FALSE(fs::exists(socket_path));
    // (A denied request's body stays unread, so the proxy closes that connection.)
    sb::test::UnixClient old_token((*other)->socket_path());
    EXPECT_EQ(old_token.request("POST", "/anthropic/v1/messages", {{"x-api-key", token}}, "{}").status, 401);
    sb::test::UnixClient live_token((*other)->socket_path());
    EXPECT_EQ(
        live_token.request("POST", "/anthropic/v1/messages", {{"x-api-key", (*other)->token().reveal()}}, "{}").status,
        200);

    // What the container saw: the placeholder, never the key; no network but loopback.
    const std::string env = slurp(workspace + "/out/env.txt");
    EXPECT_NE(env.find("SQUADBOX_PROXY_TOKEN=" + token), std::string::npos) << env;
    EXPECT_NE(env.find("ANTHROPIC_API_KEY=" + token), std::string::npos);
    EXPECT_NE(env.find("ANTHROPIC_BASE_URL=http://127.0.0.1:3001/anthropic"), std::string::npos);
    EXPECT_NE(env.find("SQUADBOX_PROXY_SOCKET=/workspace/ipc/proxy.sock"), std::string::npos);
    EXPECT_EQ(slurp(workspace + "/out/socket.txt"), "socket-ok\n");
    EXPECT_NE(slurp(workspace + "/out/proc1_environ.bin").find(token), std::string::npos);
    EXPECT_GT(fs::file_size(workspace + "/out/rootfs.tar"), 1u << 20);  // busybox and friends are in it
    std::istringstream netdev(slurp(workspace + "/out/netdev.txt"));
    for (std::string line; std::getline(netdev, line);) {
      if (line.find(':') != std::string::npos) {
        EXPECT_NE(line.find("lo:"), std::string::npos) << line;
      }
    }

    run = sb::actors::container_supervisor_actor{};
  }
  proxy->stop();
  sb::log::set_fd(STDERR_FILENO);
  ::close(log_fd);
  sb::log::configure(sb::log::Level::info, sb::log::Format::logfmt);

  // The key is nowhere: container dumps and archive, run directory, OCI bundles and
  // container logs, images, the broker's log, audit records, metrics.
  size_t scanned = 0;
  EXPECT_EQ(files_containing(dir.path(), key, &scanned), std::vector<std::string>{});
  EXPECT_GT(scanned, 8u);
  const std::string log = slurp(log_path);
  EXPECT_NE(log.find("proxy.lease_opened"), std::string::npos) << "the log capture saw nothing";
  EXPECT_EQ(log.find(key), std::string::npos);
  for (const auto& a : audit) EXPECT_EQ((a.subject + a.detail).find(key), std::string::npos);
  EXPECT_FALSE(audit.empty());
  EXPECT_EQ(metrics.render().find(key), std::string::npos);
  // Half of the key is not there either (no partial or split copies).
  EXPECT_EQ(files_containing(dir.path(), key.substr(key.size() / 2), &scanned), std::vector<std::string>{});
}

}  // namespace
