// The pure decision of the security audit: assess() and assess_mounts() as tables.
#include "runtime/container/scan/assess.hpp"

#include <gtest/gtest.h>

namespace sb::container::scan {
namespace {

using namespace std::chrono_literals;
using container::Mount;
using container::ObservedMount;
using container::SecurityProfile;
using Clock = std::chrono::steady_clock;

// What our backends produce: nothing shared but the user namespace, no capabilities.
SecurityProfile clean_assessed_profile(std::vector<ObservedMount> mounts = {}) {
  SecurityProfile p;
  p.no_new_privileges = true;
  p.host_namespaces = {"user"};
  p.mounts = std::move(mounts);
  return p;
}

ApprovedContainer approved(std::vector<Mount> mounts = {}) {
  return ApprovedContainer{"c1", "run-1", "main", std::move(mounts), std::nullopt};
}

std::vector<std::string> kinds(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings) out.emplace_back(to_string(f.kind));
  return out;
}

const Clock::time_point kNow = Clock::now();

TEST(SecurityAssess, CleanApprovedContainerHasNoFindings) {
  auto a = approved({{"/srv/ws", "/workspace", false}, {"/srv/ipc", "/workspace/ipc", true}});
  ObservedContainer o{
      "c1",
      {},
      clean_assessed_profile({{"/srv/ws", "/workspace", false, "bind"}, {"/srv/ipc", "/workspace/ipc", true, "bind"}})};
  EXPECT_TRUE(assess(o, &a, baseline_for("oci"), kNow).empty());
}

TEST(SecurityAssess, UnknownContainerIsOneFindingNamingTheRun) {
  SecurityProfile p = clean_assessed_profile();
  p.privileged = true;  // not even looked at: unknown is enough to stop it
  ObservedContainer o{"c9", {{container::kLabelRun, "run-7"}}, p};
  auto f = assess(o, nullptr, baseline_for("oci"), kNow);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, FindingKind::unknown_container);
  EXPECT_NE(f[0].what.find("run-7"), std::string::npos);
  ObservedContainer no_label{"c9", {}, std::nullopt};
  EXPECT_EQ(kinds(assess(no_label, nullptr, baseline_for("oci"), kNow)), std::vector<std::string>{"unknown_container"});
}

struct DriftCase {
  const char* name;
  void (*mutate)(SecurityProfile&);
  std::vector<std::string> expected_kinds;
  std::string expected_what;  // of the first finding
};

// Readable CTest names (gtest would print the struct's bytes).
void PrintTo(const DriftCase& c, std::ostream* os) {
  *os << c.name;
}

class SecurityAssessDrift : public ::testing::TestWithParam<DriftCase> {};

TEST_P(SecurityAssessDrift, IsFound) {
  const auto& c = GetParam();
  SecurityProfile p = clean_assessed_profile();
  c.mutate(p);
  auto a = approved();
  auto f = assess(ObservedContainer{"c1", {}, p}, &a, baseline_for("oci"), kNow);
  EXPECT_EQ(kinds(f), c.expected_kinds);
  if (!f.empty()) {
    EXPECT_EQ(f[0].what, c.expected_what);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, SecurityAssessDrift,
    ::testing::Values(
        DriftCase{"privileged",
                  [](SecurityProfile& p) {
                    p.privileged = true;
                    p.capabilities = container::all_capabilities();
                    p.bounding = container::all_capabilities();
                  },
                  {"privileged"},
                  "privileged"},
        DriftCase{"effective_cap",
                  [](SecurityProfile& p) { p.capabilities = {"CAP_SYS_ADMIN"}; },
                  {"capability_added"},
                  "CAP_SYS_ADMIN"},
        DriftCase{"bounding_only_caps_count_too",
                  [](SecurityProfile& p) {
                    p.bounding = {"CAP_NET_ADMIN", "CAP_SYS_ADMIN"};
                  },
                  {"capability_added"},
                  "CAP_NET_ADMIN,CAP_SYS_ADMIN"},
        DriftCase{"host_net", [](SecurityProfile& p) { p.host_namespaces.insert("net"); }, {"host_namespace"}, "net"},
        DriftCase{"host_pid_and_ipc",
                  [](SecurityProfile& p) {
                    p.host_namespaces.insert({"pid", "ipc"});
                  },
                  {"host_namespace", "host_namespace"},
                  "ipc"},
        DriftCase{"host_user_is_baseline", [](SecurityProfile& p) { p.host_namespaces = {"user"}; }, {}, ""},
        DriftCase{"new_privileges",
                  [](SecurityProfile& p) { p.no_new_privileges = false; },
                  {"new_privileges"},
                  "no_new_privileges is off"},
        DriftCase{"extra_mount",
                  [](SecurityProfile& p) {
                    p.mounts.push_back({"/etc", "/mnt/etc", false, "bind"});
                  },
                  {"unexpected_mount"},
                  "/etc -> /mnt/etc"},
        DriftCase{"everything_at_once",
                  [](SecurityProfile& p) {
                    p.capabilities = {"CAP_KILL"};
                    p.host_namespaces.insert("uts");
                    p.no_new_privileges = false;
                    p.mounts.push_back({"/var/run/docker.sock", "/var/run/docker.sock", true, "bind"});
                  },
                  {"capability_added", "host_namespace", "new_privileges", "unexpected_mount"},
                  "CAP_KILL"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SecurityAssess, DockerBaselineAllowsHostCgroupNamespaceOciDoesNot) {
  SecurityProfile p = clean_assessed_profile();
  p.host_namespaces.insert("cgroup");
  auto a = approved();
  EXPECT_TRUE(assess(ObservedContainer{"c1", {}, p}, &a, baseline_for("docker"), kNow).empty());
  EXPECT_EQ(kinds(assess(ObservedContainer{"c1", {}, p}, &a, baseline_for("oci"), kNow)),
            std::vector<std::string>{"host_namespace"});
}

TEST(SecurityAssess, BaselineCapabilitiesAreNotAdded) {
  Baseline b = baseline_for("oci");
  b.capabilities = {"CAP_NET_BIND_SERVICE"};
  SecurityProfile p = clean_assessed_profile();
  p.capabilities = {"CAP_NET_BIND_SERVICE"};
  p.bounding = {"CAP_NET_BIND_SERVICE", "CAP_CHOWN"};
  auto a = approved();
  auto f = assess(ObservedContainer{"c1", {}, p}, &a, b, kNow);
  ASSERT_EQ(kinds(f), std::vector<std::string>{"capability_added"});
  EXPECT_EQ(f[0].what, "CAP_CHOWN");
}

TEST(SecurityAssess, PastTimeoutOnlyAfterDeadlinePlusGrace) {
  auto a = approved();
  a.deadline = kNow - 5s;
  ObservedContainer o{"c1", {}, clean_assessed_profile()};
  EXPECT_EQ(kinds(assess(o, &a, baseline_for("oci"), kNow)), std::vector<std::string>{"past_timeout"});
  EXPECT_TRUE(assess(o, &a, baseline_for("oci"), kNow, 10s).empty());  // within the grace
  a.deadline = kNow + 1h;
  EXPECT_TRUE(assess(o, &a, baseline_for("oci"), kNow).empty());
  a.deadline.reset();  // no hard timeout
  EXPECT_TRUE(assess(o, &a, baseline_for("oci"), kNow + 24h).empty());
}

TEST(SecurityAssess, WithoutAProfileOnlyRegistrationAndDeadlineAreChecked) {
  auto a = approved();
  a.deadline = kNow - 1s;
  ObservedContainer o{"c1", {}, std::nullopt};
  EXPECT_EQ(kinds(assess(o, &a, baseline_for("apple"), kNow)), std::vector<std::string>{"past_timeout"});
  a.deadline.reset();
  EXPECT_TRUE(assess(o, &a, baseline_for("apple"), kNow).empty());
}

TEST(SecurityAssess, UnknownMountsOfAnAdoptedRunAreNotChecked) {
  ApprovedContainer a = approved();
  a.mounts.reset();  // adopted after a broker restart
  ObservedContainer o{"c1", {}, clean_assessed_profile({{"/srv/ws", "/workspace", true, "bind"}})};
  EXPECT_TRUE(assess(o, &a, baseline_for("oci"), kNow).empty());
  a.mounts = std::vector<Mount>{};  // known to be none
  EXPECT_EQ(kinds(assess(o, &a, baseline_for("oci"), kNow)), std::vector<std::string>{"unexpected_mount"});
}

TEST(SecurityAssessMounts, Table) {
  const std::vector<Mount> approved_mounts = {{"/srv/ws", "/workspace", false},
                                              {"/srv/ipc", "/workspace/ipc", true},
                                              {"/data/proj", "/workspace/extra/proj", false}};
  struct Case {
    ObservedMount observed;
    std::vector<std::string> kinds;
  };
  const std::vector<Case> cases = {
      {{"/srv/ws", "/workspace", false, "bind"}, {}},
      {{"/srv/ws/", "/workspace/", false, "bind"}, {}},               // trailing slashes
      {{"/srv/ipc", "/workspace/ipc", true, "bind"}, {}},             // approved rw
      {{"/srv/ws", "/workspace", true, "bind"}, {"writable_mount"}},  // approved ro
      {{"/srv/ws/sub", "/workspace/sub", false, "ext4"}, {}},         // brought along by rbind
      {{"/srv/ws/sub", "/workspace/sub", true, "ext4"}, {"writable_mount"}},
      {{"/home/u/.ssh", "/workspace/sub", false, "bind"}, {"unexpected_mount"}},  // other source
      {{"/home/u", "/workspace", false, "bind"}, {"unexpected_mount"}},           // swapped source
      {{"/srv/ipc", "/workspace/extra/proj", false, "bind"}, {"unexpected_mount"}},
      {{"/data/proj", "/workspace/extra/proj", true, "bind"}, {"writable_mount"}},
      {{"/", "/host", false, "bind"}, {"unexpected_mount"}},
      {{"/var/lib/docker/volumes/v/_data", "/data", true, "volume"}, {"unexpected_mount"}},
      {{"254:0:/secret", "/workspace/x", false, "ext4"}, {"unexpected_mount"}},  // unnamed host path
      {{"/srv/wsx", "/workspacex", false, "bind"}, {"unexpected_mount"}},        // prefix is not a parent
  };
  for (const auto& c : cases) {
    auto f = assess_mounts({c.observed}, approved_mounts);
    EXPECT_EQ(kinds(f), c.kinds) << c.observed.source << " -> " << c.observed.destination;
  }
  // An approved root ("/") maps a whole tree.
  EXPECT_TRUE(assess_mounts({{"/etc", "/host/etc", false, "bind"}}, {{"/", "/host", false}}).empty());
  EXPECT_TRUE(assess_mounts({}, approved_mounts).empty());  // missing approved mounts are no risk
}

TEST(SecurityAssess, KindNamesAreStable) {
  EXPECT_EQ(to_string(FindingKind::unknown_container), "unknown_container");
  EXPECT_EQ(to_string(FindingKind::privileged), "privileged");
  EXPECT_EQ(to_string(FindingKind::capability_added), "capability_added");
  EXPECT_EQ(to_string(FindingKind::host_namespace), "host_namespace");
  EXPECT_EQ(to_string(FindingKind::new_privileges), "new_privileges");
  EXPECT_EQ(to_string(FindingKind::unexpected_mount), "unexpected_mount");
  EXPECT_EQ(to_string(FindingKind::writable_mount), "writable_mount");
  EXPECT_EQ(to_string(FindingKind::past_timeout), "past_timeout");
}

}  // namespace
}  // namespace sb::container::scan
