// The security audit against a real Docker Engine 26 that this test process starts
// itself (deploy/docker-engine.sh, private data root and socket, busybox image): the
// docker backend's observed profile of our own containers, and containers created
// directly through the Engine API (privileged, added capabilities, host pid) being
// found and stopped, while another install's container is never touched.
// If the engine cannot be fetched or started, every test FAILS with the reason.
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/container/docker/docker_json.hpp"
#include "runtime/container/docker/docker_runtime.hpp"
#include "runtime/container/mount_policy.hpp"
#include "runtime/container/scan/security_scanner.hpp"
#include "tests/support/docker_engine.hpp"
#include "tests/support/temp_dir.hpp"

#ifndef SQUADBOX_SOURCE_DIR
#error "SQUADBOX_SOURCE_DIR must point at the source tree (deploy/docker-engine.sh)"
#endif

namespace sb::container::docker {
namespace {

using namespace std::chrono_literals;
using container::scan::ApprovedContainer;
using container::scan::ApprovedContainers;
using container::scan::FindingKind;
using container::scan::ScannerOptions;
using container::scan::SecurityScanner;

const std::string kScanImage = test::kDockerTestImage;
using test::random_suffix;
using test::read_all;
using test::sh;
using Engine = test::DockerEngine;

Engine* g_scan_engine = test::shared_docker_engine();

class ScanDocker : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(g_scan_engine->ready()) << "Docker Engine not available: " << g_scan_engine->error(); }
  void TearDown() override {
    for (const auto& id : created_)
      if (auto s = rt().remove(id, true); !s) ADD_FAILURE() << "cleanup of " << id << ": " << s.error().message;
  }
  DockerRuntime& rt() { return g_scan_engine->runtime(); }

  Labels labels(const std::string& install) {
    return {{kLabelInstall, install}, {kLabelNamespace, "main"}, {kLabelRun, "run-" + random_suffix()}};
  }

  // Created directly through the Engine API, the way an attacker or a careless operator
  // would: `host_config` is the HostConfig object's members.
  std::string create_raw(const std::string& install, const std::string& host_config) {
    std::string label_json;
    for (const auto& [k, v] : labels(install))
      label_json += (label_json.empty() ? "" : ",") + ("\"" + k + "\":\"" + v + "\"");
    const std::string body = R"({"Image":")" + kScanImage + R"(","Cmd":["sleep","600"],"Labels":{)" + label_json +
                             R"(},"HostConfig":{"NetworkMode":"none")" +
                             (host_config.empty() ? "" : "," + host_config) + "}}";
    auto r = rt().call("POST", "/containers/create?name=sbscan-" + random_suffix(), body);
    EXPECT_TRUE(r && r->status == 201) << (r ? r->body : r.error().message);
    if (!r || r->status != 201) return {};
    auto id = parse_create(r->body);
    EXPECT_TRUE(id.ok());
    created_.push_back(*id);
    auto st = rt().start(*id);
    EXPECT_TRUE(st.ok()) << st.error().message;
    return *id;
  }

  void approve(const std::string& id, std::vector<Mount> mounts = {}) {
    approved_.approve(ApprovedContainer{id, "run", "main", std::move(mounts), std::nullopt});
  }

  bool gone(const std::string& id) {
    auto info = rt().inspect(id);
    return !info && info.error().code == "container.not_found";
  }

  static std::map<FindingKind, std::string> findings(const container::scan::ScanReport& r) {
    std::map<FindingKind, std::string> out;
    for (const auto& v : r.offending)
      for (const auto& f : v.findings) out[f.kind] = f.what;
    return out;
  }

  SecurityScanner scanner() { return SecurityScanner(rt(), approved_, ScannerOptions{install_, 10s, {}}); }

  std::string install_ = "scan-" + random_suffix();
  ApprovedContainers approved_;
  std::vector<std::string> created_;
};

TEST_F(ScanDocker, OurOwnContainerIsTheBaselineAndPasses) {
  test::TempDir ws("sbscan-ws");
  RunMountRequest req;
  req.workspace = ws.path();
  auto mounts = MountPolicy::validate(req);
  ASSERT_TRUE(mounts.ok()) << mounts.error().message;
  ContainerSpec s;
  s.name = "sbscan-" + random_suffix();
  s.image = kScanImage;
  s.command = {"sleep", "600"};
  s.labels = labels(install_);
  s.workdir = "/";
  s.mounts = *mounts;
  auto id = rt().create(s);
  ASSERT_TRUE(id.ok()) << id.error().message;
  created_.push_back(*id);
  ASSERT_TRUE(rt().start(*id).ok());
  auto p = rt().security_profile(*id);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE(p->privileged);
  EXPECT_TRUE(p->capabilities.empty());
  EXPECT_TRUE(p->no_new_privileges);
  for (const auto& ns : p->host_namespaces) EXPECT_EQ(ns, "cgroup");  // Docker's default on cgroup v1
  ASSERT_EQ(p->mounts.size(), 1u);
  EXPECT_EQ(p->mounts[0].source, std::filesystem::canonical(ws.path()).string());
  EXPECT_EQ(p->mounts[0].destination, "/workspace");
  EXPECT_FALSE(p->mounts[0].read_write);
  approve(*id, mounts->mounts());
  auto r = scanner().scan();
  EXPECT_EQ(r.checked, 1u);
  EXPECT_TRUE(r.offending.empty());
  EXPECT_TRUE(r.errors.empty());
  EXPECT_FALSE(gone(*id));
}

TEST_F(ScanDocker, PrivilegedContainerFromTheEngineApiIsStopped) {
  const std::string id = create_raw(install_, R"("Privileged":true)");
  ASSERT_FALSE(id.empty());
  approve(id);  // even registered: drift from the approved spec
  auto r = scanner().scan();
  auto f = findings(r);
  EXPECT_TRUE(f.contains(FindingKind::privileged));
  EXPECT_TRUE(f.contains(FindingKind::new_privileges));
  EXPECT_FALSE(f.contains(FindingKind::capability_added));  // implied by privileged
  ASSERT_EQ(r.offending.size(), 1u);
  EXPECT_TRUE(r.offending[0].stopped) << r.offending[0].stop_error;
  EXPECT_TRUE(gone(id));
}

TEST_F(ScanDocker, UnregisteredPrivilegedContainerIsStoppedAsUnknown) {
  const std::string id = create_raw(install_, R"("Privileged":true)");
  ASSERT_FALSE(id.empty());
  auto r = scanner().scan();
  EXPECT_EQ(findings(r).size(), 1u);
  EXPECT_TRUE(findings(r).contains(FindingKind::unknown_container));
  EXPECT_TRUE(gone(id));
}

TEST_F(ScanDocker, AddedCapabilityAndHostPidAreStopped) {
  const std::string id = create_raw(
      install_, R"("CapDrop":["ALL"],"CapAdd":["SYS_ADMIN"],"PidMode":"host","SecurityOpt":["no-new-privileges"])");
  ASSERT_FALSE(id.empty());
  approve(id);
  auto f = findings(scanner().scan());
  EXPECT_EQ(f[FindingKind::capability_added], "CAP_SYS_ADMIN");
  EXPECT_EQ(f[FindingKind::host_namespace], "pid");
  EXPECT_FALSE(f.contains(FindingKind::new_privileges));
  EXPECT_TRUE(gone(id));
}

TEST_F(ScanDocker, AnotherInstallsContainerIsNeverTouched) {
  const std::string other = create_raw("other-" + random_suffix(), R"("Privileged":true)");
  ASSERT_FALSE(other.empty());
  auto r = scanner().scan();
  EXPECT_EQ(r.checked, 0u);
  EXPECT_TRUE(r.offending.empty());
  auto info = rt().inspect(other);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->state, ContainerState::running);
}

}  // namespace
}  // namespace sb::container::docker
