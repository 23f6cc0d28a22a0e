// The security audit against real crun containers (root): the oci backend's observed
// profile, and SecurityScanner stopping unknown, drifted and overdue containers while
// leaving approved ones and other installs' alone. Drift that our backend refuses to
// create is made by running crun directly on a hand-edited config, with the bundle
// laid out and labelled the way OciRuntime stores its own.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/audit/security_auditor.hpp"
#include "actors/containers/container_supervisor.hpp"
#include "runtime/container/mount_policy.hpp"
#include "runtime/container/oci/oci_config.hpp"
#include "runtime/container/oci/subprocess.hpp"
#include "runtime/container/scan/security_scanner.hpp"
#include "tests/runtime/container/oci/oci_test_support.hpp"
#include "tests/support/actor_test_support.hpp"

namespace sb::container::oci::test {
namespace {

using namespace std::chrono_literals;
using container::scan::ApprovedContainer;
using container::scan::ApprovedContainers;
using container::scan::FindingKind;
using container::scan::ScannerOptions;
using container::scan::SecurityScanner;

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

class ScanOci : public OciFixture {
 protected:
  void SetUp() override {
    OciFixture::SetUp();
    ws_ = state_.path() / "ws";
    ipc_ = state_.path() / "ipc";
    fs::create_directories(ws_ / "ipc");  // mount point: a read-only workspace cannot get one later
    fs::create_directories(ipc_);
  }

  // The mounts a squad run gets: workspace (ro here) and its IPC directory (rw).
  ValidatedMounts run_mounts(bool workspace_rw) {
    RunMountRequest req;
    req.workspace = ws_.string();
    req.workspace_read_write = workspace_rw;
    req.ipc_dir = ipc_.string();
    auto m = MountPolicy::validate(req);
    EXPECT_TRUE(m.ok()) << m.error().message;
    return m ? *m : ValidatedMounts{};
  }

  ContainerSpec sleeper(const std::string& install = "install-a") {
    ContainerSpec s = spec({"/bin/sleep", "1000"});
    s.labels = {{kLabelInstall, install}, {kLabelNamespace, "main"}, {kLabelRun, "run-1"}};
    return s;
  }

  std::string start(const ContainerSpec& s) {
    auto id = runtime_->create(s);
    EXPECT_TRUE(id.ok()) << id.error().message;
    if (!id) return {};
    auto st = runtime_->start(*id);
    EXPECT_TRUE(st.ok()) << st.error().message;
    return *id;
  }

  void approve(const std::string& id, const std::vector<Mount>& mounts,
               std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt) {
    approved_.approve(ApprovedContainer{id, "run-1", "main", mounts, deadline});
  }

  bool running(const std::string& id) {
    auto info = runtime_->inspect(id);
    return info && info->state == ContainerState::running;
  }

  // A container OciRuntime did not create: our config for `s`, edited by `edit`, run
  // by crun directly in a bundle under the runtime's state dir with labels.json.
  std::string start_by_hand(const ContainerSpec& s, void (*edit)(rapidjson::Document&)) {
    auto image = store_->resolve(s.image);
    EXPECT_TRUE(image.ok());
    if (!image) return {};
    const std::string id = "sb-byhand" + std::to_string(++hand_counter_);
    OciConfigInput in;
    in.spec = &s;
    in.rootfs = image->rootfs.string();
    in.image = image->defaults;
    in.cgroups_path = "/squadbox/" + id;
    auto config = build_oci_config(in);
    EXPECT_TRUE(config.ok());
    if (!config) return {};
    rapidjson::Document d;
    d.Parse(config->c_str());
    edit(d);
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    d.Accept(w);
    const fs::path dir = state_.path() / "install-a" / "state" / id;
    fs::create_directories(dir);
    write_file(dir / "config.json", buf.GetString());
    std::string labels = "{";
    for (const auto& [k, v] : s.labels) labels += (labels.size() > 1 ? "," : "") + ("\"" + k + "\":\"" + v + "\"");
    write_file(dir / "labels.json", labels + "}");
    write_file(dir / "spec.json", "{\"id\":\"" + id + "\",\"name\":\"byhand\"}");
    const std::string root = (state_.path() / "install-a" / "crun").string();
    const std::vector<std::vector<std::string>> steps = {
        {"crun", "--root", root, "create", "--bundle", dir.string(), "--pid-file", (dir / "pid").string(), id},
        {"crun", "--root", root, "start", id}};
    for (const auto& argv : steps) {
      auto r = run_process(argv, {.output_file = (dir / "output.log").string(), .timeout = 30s});
      EXPECT_TRUE(r && r->ok()) << (r ? std::to_string(r->exit_code) : r.error().message);
      if (!r || !r->ok()) return {};
    }
    return id;
  }

  static std::vector<FindingKind> kinds(const container::scan::ScanReport& r) {
    std::vector<FindingKind> out;
    for (const auto& v : r.offending)
      for (const auto& f : v.findings) out.push_back(f.kind);
    return out;
  }

  // A scan whose observation failed transiently (a loaded machine: the container's
  // process not yet visible) reports an error, or nothing at all while the container is
  // still being started; scan again then, up to a deadline (the auditor's next sweep
  // would), and say what the errors were if nothing was ever found.
  container::scan::ScanReport scan_until_found(std::chrono::milliseconds limit = 20s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    auto r = scanner().scan();
    std::string errors;
    while (r.offending.empty() && std::chrono::steady_clock::now() < deadline) {
      for (const auto& e : r.errors) errors += e + "; ";
      std::this_thread::sleep_for(100ms);
      r = scanner().scan();
    }
    if (r.offending.empty()) ADD_FAILURE() << "nothing found; scan errors: " << errors;
    return r;
  }

  SecurityScanner scanner(std::chrono::milliseconds grace = 10s) {
    return SecurityScanner(*runtime_, approved_, ScannerOptions{"install-a", grace, {}});
  }

  fs::path ws_, ipc_;
  ApprovedContainers approved_;
  int hand_counter_ = 0;
};

TEST_F(ScanOci, ProfileOfOurContainerIsTheBaseline) {
  ContainerSpec s = sleeper();
  s.mounts = run_mounts(false);
  const std::string id = start(s);
  auto p = runtime_->security_profile(id);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE(p->privileged);
  EXPECT_TRUE(p->capabilities.empty());
  EXPECT_TRUE(p->bounding.empty());
  EXPECT_TRUE(p->no_new_privileges);
  EXPECT_EQ(p->host_namespaces, std::set<std::string>{"user"});
  std::map<std::string, std::pair<std::string, bool>> mounts;
  for (const auto& m : p->mounts) mounts[m.destination] = {m.source, m.read_write};
  EXPECT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts["/workspace"], std::make_pair(fs::canonical(ws_).string(), false));
  EXPECT_EQ(mounts["/workspace/ipc"], std::make_pair(fs::canonical(ipc_).string(), true));
}

TEST_F(ScanOci, ProfileOfAContainerThatDoesNotRunIsAnError) {
  auto id = runtime_->create(sleeper());
  ASSERT_TRUE(id.ok());
  auto created = runtime_->security_profile(*id);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, "container.not_running");
  auto unknown = runtime_->security_profile("sb-nosuchcontainer");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "container.not_found");
  EXPECT_EQ(runtime_->security_profile("../etc").error().code, "container.bad_id");
}

TEST_F(ScanOci, ApprovedContainerPasses) {
  ContainerSpec s = sleeper();
  s.mounts = run_mounts(false);
  const std::string id = start(s);
  approve(id, s.mounts.mounts(), std::chrono::steady_clock::now() + 1h);
  auto r = scanner().scan();
  EXPECT_EQ(r.checked, 1u);
  EXPECT_TRUE(r.offending.empty());
  EXPECT_TRUE(r.errors.empty()) << r.errors[0];
  EXPECT_TRUE(running(id));
}

TEST_F(ScanOci, UnregisteredContainerWithOurLabelIsStopped) {
  const std::string id = start(sleeper());
  auto r = scanner().scan();
  EXPECT_EQ(kinds(r), std::vector<FindingKind>{FindingKind::unknown_container});
  ASSERT_EQ(r.offending.size(), 1u);
  EXPECT_EQ(r.offending[0].container_id, id);
  EXPECT_TRUE(r.offending[0].stopped) << r.offending[0].stop_error;
  auto gone = runtime_->inspect(id);
  EXPECT_FALSE(gone.ok());  // killed and removed
}

TEST_F(ScanOci, AnotherInstallsContainerIsNeverTouched) {
  const std::string id = start(sleeper("install-b"));  // same state dir, other install label
  auto r = scanner().scan();
  EXPECT_EQ(r.checked, 0u);
  EXPECT_TRUE(r.offending.empty());
  EXPECT_TRUE(running(id));
}

TEST_F(ScanOci, WritableMountApprovedReadOnlyIsStopped) {
  ContainerSpec s = sleeper();
  s.mounts = run_mounts(true);              // what runs: workspace rw
  const auto approved = run_mounts(false);  // what was approved: workspace ro
  const std::string id = start(s);
  approve(id, approved.mounts());
  auto r = scanner().scan();
  EXPECT_EQ(kinds(r), std::vector<FindingKind>{FindingKind::writable_mount});
  ASSERT_EQ(r.offending.size(), 1u);
  EXPECT_NE(r.offending[0].findings[0].what.find("/workspace"), std::string::npos);
  EXPECT_TRUE(r.offending[0].stopped);
  EXPECT_FALSE(runtime_->inspect(id).ok());
}

TEST_F(ScanOci, MountNobodyApprovedIsStopped) {
  ContainerSpec s = sleeper();
  s.mounts = run_mounts(false);
  const std::string id = start(s);
  approve(id, {});  // registered with no mounts at all
  auto r = scanner().scan();
  EXPECT_EQ(kinds(r), (std::vector<FindingKind>{FindingKind::unexpected_mount, FindingKind::unexpected_mount}));
  EXPECT_FALSE(runtime_->inspect(id).ok());
}

TEST_F(ScanOci, HostNetworkAndSysAdminByHandAreStopped) {
  ContainerSpec s = sleeper();
  const std::string id = start_by_hand(s, [](rapidjson::Document& d) {
    auto& a = d.GetAllocator();
    auto& caps = d["process"]["capabilities"];
    for (const char* set : {"bounding", "effective", "permitted"}) caps[set].PushBack("CAP_SYS_ADMIN", a);
    auto& ns = d["linux"]["namespaces"];
    for (auto it = ns.Begin(); it != ns.End(); ++it)
      if (std::string((*it)["type"].GetString()) == "network") {
        ns.Erase(it);  // joins the node's network namespace
        break;
      }
  });
  ASSERT_FALSE(id.empty());
  auto listed = runtime_->list({{kLabelInstall, "install-a"}});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);  // laid out like one of ours: the backend lists it
  approve(id, {});
  auto p = runtime_->security_profile(id);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(p->bounding.contains("CAP_SYS_ADMIN"));
  EXPECT_TRUE(p->host_namespaces.contains("net"));
  auto r = scanner().scan();
  ASSERT_EQ(r.offending.size(), 1u);
  std::map<FindingKind, std::string> found;
  for (const auto& f : r.offending[0].findings) found[f.kind] = f.what;
  EXPECT_EQ(found[FindingKind::capability_added], "CAP_SYS_ADMIN");
  EXPECT_EQ(found[FindingKind::host_namespace], "net");
  EXPECT_TRUE(r.offending[0].stopped) << r.offending[0].stop_error;
  EXPECT_FALSE(runtime_->inspect(id).ok());
}

TEST_F(ScanOci, NewPrivilegesAndHostPidByHandAreStopped) {
  const std::string id = start_by_hand(sleeper(), [](rapidjson::Document& d) {
    d["process"]["noNewPrivileges"].SetBool(false);
    auto& ns = d["linux"]["namespaces"];
    for (auto it = ns.Begin(); it != ns.End(); ++it)
      if (std::string((*it)["type"].GetString()) == "pid") {
        ns.Erase(it);
        break;
      }
  });
  ASSERT_FALSE(id.empty());
  approve(id, {});
  auto r = scan_until_found();
  EXPECT_EQ(kinds(r), (std::vector<FindingKind>{FindingKind::host_namespace, FindingKind::new_privileges}));
  EXPECT_FALSE(runtime_->inspect(id).ok());
}

TEST_F(ScanOci, PastTimeoutIsStopped) {
  const std::string id = start(sleeper());
  approve(id, {}, std::chrono::steady_clock::now() - 1s);
  EXPECT_TRUE(scanner(1h).scan().offending.empty());  // still within the grace
  EXPECT_TRUE(running(id));
  auto r = scanner(0ms).scan();
  EXPECT_EQ(kinds(r), std::vector<FindingKind>{FindingKind::past_timeout});
  EXPECT_FALSE(runtime_->inspect(id).ok());
}

// What one scan costs with a few approved containers (printed, never asserted).
TEST_F(ScanOci, ScanCostIsReported) {
  constexpr int kContainers = 5;
  for (int i = 0; i < kContainers; ++i) {
    ContainerSpec s = sleeper();
    s.mounts = run_mounts(false);
    const std::string id = start(s);
    approve(id, s.mounts.mounts());
  }
  std::vector<int64_t> us;
  for (int i = 0; i < 5; ++i) {
    auto r = scanner().scan();
    EXPECT_EQ(r.checked, static_cast<size_t>(kContainers));
    EXPECT_TRUE(r.offending.empty());
    us.push_back(r.duration.count());
  }
  std::sort(us.begin(), us.end());
  std::cout << "security scan of " << kContainers << " oci containers: median " << us[us.size() / 2] / 1000.0
            << " ms, min " << us.front() / 1000.0 << " ms\n";
  RecordProperty("scan_median_us", static_cast<int>(us[us.size() / 2]));
}

// The container supervisor registers what it creates and removes it at the end; the
// auditor actor then finds nothing wrong with a supervised run.
class ScanSupervised : public ScanOci {
 protected:
  // Exits the actors even when an assertion returns early, so the system can join.
  struct ExitAtEnd {
    std::vector<caf::actor> actors;
    ~ExitAtEnd() {
      for (auto& a : actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    }
  };
  sb::test::ActorSystemFixture actors_;  // destroyed before the base's runtime
};

TEST_F(ScanSupervised, SupervisedRunIsRegisteredPassesTheAuditAndIsRemovedAtTheEnd) {
  auto approved = std::make_shared<ApprovedContainers>();
  caf::scoped_actor self{actors_.system};
  actors::ContainerRunOptions o;
  o.run_id = "sup-1";
  o.namespace_name = "main";
  o.install_id = "install-a";
  o.run_dir = (state_.path() / "runs" / "sup-1").string();
  o.spec = sleeper();
  o.spec.labels.clear();  // the supervisor sets our three labels itself
  o.mounts.workspace = ws_.string();
  o.hard_timeout = 1h;
  o.stop_grace = 200ms;
  o.runtime = std::shared_ptr<ContainerRuntime>(runtime_.get(), [](ContainerRuntime*) {});  // not owned
  o.approved = approved;
  o.listener = caf::actor_cast<sb::actors::run_listener_actor>(self);
  const auto spawned = std::chrono::steady_clock::now();
  auto run = actors::spawn_container_supervisor(actors_.system, o);
  ExitAtEnd guard{{caf::actor_cast<caf::actor>(run)}};
  bool running = false;
  while (!running) {
    bool timed_out = false;
    self->receive(
        [&](actors::state_atom, const sb::container::RunTransition& t) {
          running = t.to == sb::container::RunState::idle || t.to == sb::container::RunState::running;  // started
        },
        [&](actors::output_atom, const sb::container::RunOutput&) {},
        [&](actors::done_atom, const sb::container::RunResult& r) {
          ADD_FAILURE() << "run ended: " << sb::container::describe(r);
          timed_out = true;
        },
        caf::after(60s) >> [&] { timed_out = true; });
    ASSERT_FALSE(timed_out) << "the supervised container never ran";
  }
  auto listed = runtime_->list({{kLabelRun, "sup-1"}});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  auto entry = approved->find(listed->front().id);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->run_id, "sup-1");
  ASSERT_TRUE(entry->mounts.has_value());
  EXPECT_EQ(entry->mounts->size(), 2u);  // workspace and IPC directory
  ASSERT_TRUE(entry->deadline.has_value());
  EXPECT_GT(*entry->deadline, spawned + 59min);

  actors::SecurityAuditorOptions ao;
  ao.runtime = o.runtime;
  ao.approved = approved;
  ao.install_id = "install-a";
  ao.interval = 0ms;
  auto auditor = actors::spawn_security_auditor(actors_.system, ao);
  guard.actors.push_back(caf::actor_cast<caf::actor>(auditor));
  uint64_t found = 99;
  self->request(auditor, 60s, actors::scan_atom::value).receive([&](uint64_t n) { found = n; }, [](caf::error&) {});
  EXPECT_EQ(found, 0u);

  self->send(run, actors::stop_atom::value);
  bool done = false;
  while (!done) {
    bool timed_out = false;
    self->receive([&](actors::done_atom, const sb::container::RunResult&) { done = true; },
                  [&](actors::state_atom, const sb::container::RunTransition&) {},
                  [&](actors::output_atom, const sb::container::RunOutput&) {},
                  caf::after(60s) >> [&] { timed_out = true; });
    ASSERT_FALSE(timed_out) << "the run did not stop";
  }
  EXPECT_EQ(approved->size(), 0u);
}

}  // namespace
}  // namespace sb::container::oci::test
