// SecurityScanner over an in-memory runtime: which containers it looks at, what it
// stops, how it reports races and failures, and how findings are audited and counted.
#include "runtime/container/scan/security_scanner.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "tests/support/fake_container_runtime.hpp"

namespace sb::container::scan {
namespace {

using namespace std::chrono_literals;
using test::clean_profile;
using test::FakeRuntime;

container::Labels ours(const std::string& run) {
  return {{container::kLabelInstall, "i1"}, {container::kLabelNamespace, "main"}, {container::kLabelRun, run}};
}

class SecurityScanPass : public ::testing::Test {
 protected:
  FakeRuntime rt_;
  ApprovedContainers approved_;
  SecurityScanner scanner_{rt_, approved_, ScannerOptions{"i1", 0ms, {}}};

  void approve(const std::string& id, std::vector<container::Mount> mounts = {}) {
    approved_.approve(ApprovedContainer{id, "run-" + id, "main", std::move(mounts), std::nullopt});
  }
};

TEST_F(SecurityScanPass, ApprovedContainerStaysUnregisteredIsStopped) {
  rt_.add("good", ours("run-good"), clean_profile());
  rt_.add("stray", ours("run-x"), clean_profile());
  approve("good");
  auto r = scanner_.scan();
  EXPECT_EQ(r.checked, 2u);
  ASSERT_EQ(r.offending.size(), 1u);
  EXPECT_EQ(r.offending[0].container_id, "stray");
  EXPECT_EQ(r.offending[0].run_id, "run-x");
  EXPECT_EQ(r.offending[0].namespace_name, "main");
  ASSERT_EQ(r.offending[0].findings.size(), 1u);
  EXPECT_EQ(r.offending[0].findings[0].kind, FindingKind::unknown_container);
  EXPECT_TRUE(r.offending[0].stopped);
  EXPECT_TRUE(rt_.exists("good"));
  EXPECT_FALSE(rt_.exists("stray"));
  EXPECT_TRUE(r.errors.empty());
}

TEST_F(SecurityScanPass, OtherInstallsAndStoppedContainersAreNotTouched) {
  auto privileged = clean_profile();
  privileged.privileged = true;
  rt_.add("other", {{container::kLabelInstall, "i2"}}, privileged);
  rt_.add("unlabelled", {}, privileged);
  rt_.add("exited", ours("r"), privileged, container::ContainerState::exited);
  rt_.add("created", ours("r"), privileged, container::ContainerState::created);
  auto r = scanner_.scan();
  EXPECT_EQ(r.checked, 0u);
  EXPECT_TRUE(r.offending.empty());
  EXPECT_EQ(rt_.kills(), 0);
  for (const char* id : {"other", "unlabelled", "exited", "created"}) EXPECT_TRUE(rt_.exists(id)) << id;
}

TEST_F(SecurityScanPass, DriftOfARegisteredContainerIsStoppedWithEveryFinding) {
  auto p = clean_profile();
  p.capabilities = {"CAP_SYS_ADMIN"};
  p.host_namespaces.insert("net");
  p.mounts = {{"/srv/ws", "/workspace", true, "bind"}};
  rt_.add("drift", ours("run-drift"), p);
  approve("drift", {{"/srv/ws", "/workspace", false}});
  auto r = scanner_.scan();
  ASSERT_EQ(r.offending.size(), 1u);
  std::vector<FindingKind> kinds;
  for (const auto& f : r.offending[0].findings) kinds.push_back(f.kind);
  EXPECT_EQ(kinds, (std::vector<FindingKind>{FindingKind::capability_added, FindingKind::host_namespace,
                                             FindingKind::writable_mount}));
  EXPECT_EQ(r.offending[0].run_id, "run-drift");  // from the registry
  EXPECT_EQ(r.finding_count(), 3u);
  EXPECT_FALSE(rt_.exists("drift"));
}

TEST_F(SecurityScanPass, PastTimeoutUsesTheGrace) {
  rt_.add("late", ours("r"), clean_profile());
  approved_.approve(
      ApprovedContainer{"late", "r", "main", std::vector<container::Mount>{}, std::chrono::steady_clock::now() - 2s});
  SecurityScanner lenient(rt_, approved_, ScannerOptions{"i1", 1h, {}});
  EXPECT_TRUE(lenient.scan().offending.empty());
  auto r = scanner_.scan();
  ASSERT_EQ(r.offending.size(), 1u);
  EXPECT_EQ(r.offending[0].findings[0].kind, FindingKind::past_timeout);
}

// A cowork run of the same install lives in another process: known through the
// hook, it is not "unknown", but privilege drift still stops it.
TEST_F(SecurityScanPass, OwnedElsewhereIsKnownButStillCheckedForPrivilege) {
  auto privileged = clean_profile();
  privileged.privileged = true;
  rt_.add("cowork", ours("run-cowork"), clean_profile());
  rt_.add("cowork-bad", ours("run-cowork-bad"), privileged);
  rt_.add("stray", ours("run-stray"), clean_profile());
  std::vector<std::string> asked;
  SecurityScanner scanner(rt_, approved_, ScannerOptions{"i1", 0ms, [&](const std::string& run) {
                                                           asked.push_back(run);
                                                           return run.starts_with("run-cowork");
                                                         }});
  auto r = scanner.scan();
  EXPECT_TRUE(rt_.exists("cowork"));
  EXPECT_FALSE(rt_.exists("cowork-bad"));
  EXPECT_FALSE(rt_.exists("stray"));
  ASSERT_EQ(r.offending.size(), 2u);
  for (const auto& v : r.offending) {
    ASSERT_FALSE(v.findings.empty());
    if (v.container_id == "cowork-bad")
      EXPECT_EQ(v.findings[0].kind, FindingKind::privileged);
    else
      EXPECT_EQ(v.findings[0].kind, FindingKind::unknown_container);
  }
  EXPECT_EQ(asked.size(), 3u);
}

TEST_F(SecurityScanPass, UnknownThatEndedDuringTheScanIsNotStopped) {
  rt_.add("ending", ours("r"), clean_profile());
  rt_.exit_on_inspect("ending");
  auto r = scanner_.scan();
  EXPECT_TRUE(r.offending.empty());
  EXPECT_EQ(rt_.kills(), 0);
}

TEST_F(SecurityScanPass, ProfileRacesAreSkippedFailuresReportedUnsupportedCounted) {
  rt_.add("gone", ours("r"), clean_profile());
  rt_.add("broken", ours("r"), clean_profile());
  rt_.add("apple", ours("r"), clean_profile());
  for (const char* id : {"gone", "broken", "apple"}) approve(id);
  rt_.set_profile_error("gone", make_error("container.not_running", "ended"));
  rt_.set_profile_error("broken", make_error("proc.bad_status", "garbled"));
  rt_.set_profile_error("apple", make_error("container.unsupported", "no"));
  auto r = scanner_.scan();
  EXPECT_TRUE(r.offending.empty());
  EXPECT_EQ(r.unobservable, 1u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("broken"), std::string::npos);
}

TEST_F(SecurityScanPass, ListFailureIsAnErrorNotAFinding) {
  rt_.set_list_error(make_error("docker.unavailable", "socket gone"));
  auto r = scanner_.scan();
  EXPECT_EQ(r.checked, 0u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("socket gone"), std::string::npos);
}

TEST_F(SecurityScanPass, StopFailureIsReportedAndAudited) {
  rt_.add("stuck", ours("r"), clean_profile());
  rt_.set_remove_error(make_error("container.remove_failed", "busy"));
  auto r = scanner_.scan();
  ASSERT_EQ(r.offending.size(), 1u);
  EXPECT_FALSE(r.offending[0].stopped);
  EXPECT_NE(r.offending[0].stop_error.find("busy"), std::string::npos);
  rapidjson::Document d;
  d.Parse(finding_detail(r.offending[0], r.offending[0].findings[0]).c_str());
  ASSERT_TRUE(d.IsObject());
  EXPECT_FALSE(d["stopped"].GetBool());
  EXPECT_STREQ(d["stop_error"].GetString(), "busy");
}

TEST_F(SecurityScanPass, RecordAuditsEachFindingAndCountsIt) {
  auto p = clean_profile();
  p.privileged = true;
  p.host_namespaces.insert("pid");
  rt_.add("bad", ours("run-bad"), p);
  approve("bad");
  rt_.add("stray", ours("run-x"), clean_profile());
  auto r = scanner_.scan();
  std::vector<AuditRecord> records;
  metrics::Registry m;
  record_scan(
      r, [&](AuditRecord rec) { records.push_back(std::move(rec)); }, &m);
  ASSERT_EQ(records.size(), 3u);
  for (const auto& rec : records) {
    EXPECT_EQ(rec.actor, "security_auditor");
    EXPECT_EQ(rec.event, "security.finding");
    rapidjson::Document d;
    d.Parse(rec.detail.c_str());
    ASSERT_TRUE(d.IsObject()) << rec.detail;
    EXPECT_STREQ(d["namespace"].GetString(), "main");
    EXPECT_TRUE(d["stopped"].GetBool());
    if (rec.subject == "bad") {
      EXPECT_STREQ(d["run"].GetString(), "run-bad");
      std::string kind = d["kind"].GetString();
      EXPECT_TRUE(kind == "privileged" || kind == "host_namespace") << kind;
    } else {
      EXPECT_EQ(rec.subject, "stray");
      EXPECT_STREQ(d["kind"].GetString(), "unknown_container");
    }
  }
  EXPECT_EQ(m.counter("squadbox_security_findings_total", "", {{"kind", "privileged"}}).value(), 1u);
  EXPECT_EQ(m.counter("squadbox_security_findings_total", "", {{"kind", "host_namespace"}}).value(), 1u);
  EXPECT_EQ(m.counter("squadbox_security_findings_total", "", {{"kind", "unknown_container"}}).value(), 1u);
  EXPECT_EQ(m.counter("squadbox_security_containers_stopped_total", "").value(), 2u);
  EXPECT_EQ(m.counter("squadbox_security_scans_total", "").value(), 1u);
  const std::string text = m.render();
  EXPECT_NE(text.find("squadbox_security_scan_duration_seconds_count 1"), std::string::npos) << text;
  // Without a sink or metrics nothing breaks.
  record_scan(r, {}, nullptr);
}

TEST_F(SecurityScanPass, ErrorsAreCounted) {
  rt_.set_list_error(make_error("docker.unavailable", "down"));
  metrics::Registry m;
  record_scan(scanner_.scan(), {}, &m);
  EXPECT_EQ(m.counter("squadbox_security_scan_errors_total", "").value(), 1u);
  EXPECT_EQ(m.counter("squadbox_security_scans_total", "").value(), 1u);
}

}  // namespace
}  // namespace sb::container::scan
