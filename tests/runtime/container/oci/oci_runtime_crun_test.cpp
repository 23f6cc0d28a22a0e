// OciRuntime against real crun (root): exit codes, signals, OOM, isolation, cleanup.
#include <signal.h>
#include <stdlib.h>

#include <fstream>

#include "runtime/container/mount_policy.hpp"
#include "runtime/container/oci/subprocess.hpp"
#include "tests/runtime/container/oci/oci_test_support.hpp"

namespace sb::container::oci::test {
namespace {

using namespace std::chrono_literals;
using OciRuntimeTest = OciFixture;

TEST_F(OciRuntimeTest, Version) {
  auto v = runtime_->version();
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->backend, "oci");
  EXPECT_TRUE(v->version.starts_with("crun ")) << v->version;
}

TEST_F(OciRuntimeTest, ExitCode) {
  auto e = run(sh("exit 7"));
  EXPECT_EQ(e.exit_code, 7);
  EXPECT_EQ(e.signal, 0);
  EXPECT_FALSE(e.oom_killed);
}

TEST_F(OciRuntimeTest, KillReportsSignal) {
  auto id = runtime_->create(spec({"/bin/sleep", "1000"}));
  ASSERT_TRUE(id.ok()) << id.error().message;
  ASSERT_TRUE(runtime_->start(*id).ok());
  EXPECT_EQ(runtime_->wait(*id, 50ms).error().code, "container.timeout");
  ASSERT_TRUE(runtime_->kill(*id, SIGKILL).ok());
  auto e = runtime_->wait(*id, 30s);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->signal, SIGKILL);
  EXPECT_EQ(e->exit_code, 128 + SIGKILL);
}

TEST_F(OciRuntimeTest, SigtermReachesInit) {
  // PID 1 ignores signals it has no handler for, so the agent must trap TERM; this
  // checks kill() delivers it. The ready file avoids racing the trap installation.
  auto id = runtime_->create(sh("trap 'exit 42' TERM; touch /tmp/ready; while :; do sleep 1; done"));
  ASSERT_TRUE(id.ok()) << id.error().message;
  ASSERT_TRUE(runtime_->start(*id).ok());
  auto info = runtime_->inspect(*id);
  ASSERT_TRUE(info.ok());
  auto ready = fs::path("/proc") / std::to_string(info->pid) / "root/tmp/ready";
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!fs::exists(ready) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(fs::exists(ready));
  ASSERT_TRUE(runtime_->kill(*id, SIGTERM).ok());
  auto e = runtime_->wait(*id, 30s);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->exit_code, 42);
}

TEST_F(OciRuntimeTest, StatesAndInspect) {
  auto s = sh("exit 3");
  s.labels = {{kLabelRun, "r9"}};
  auto id = runtime_->create(s);
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto created = runtime_->inspect(*id);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->state, ContainerState::created);
  EXPECT_EQ(created->name, "test");
  EXPECT_EQ(created->labels.at(kLabelRun), "r9");
  EXPECT_EQ(created->labels.at(kLabelInstall), "install-a");
  EXPECT_GT(created->pid, 0);
  ASSERT_TRUE(runtime_->start(*id).ok());
  ASSERT_TRUE(runtime_->wait(*id, 30s).ok());
  auto exited = runtime_->inspect(*id);
  ASSERT_TRUE(exited.ok());
  EXPECT_EQ(exited->state, ContainerState::exited);
  ASSERT_TRUE(exited->exit.has_value());
  EXPECT_EQ(exited->exit->exit_code, 3);
  // wait() after the fact returns the recorded status again.
  EXPECT_EQ(runtime_->wait(*id, 0ms)->exit_code, 3);
  EXPECT_TRUE(runtime_->remove(*id, false).ok());
  EXPECT_EQ(runtime_->inspect(*id).error().code, "container.not_found");
  EXPECT_TRUE(runtime_->remove(*id, false).ok()) << "unknown ids are fine";
}

TEST_F(OciRuntimeTest, RemoveRunningNeedsForceAndLeavesNothing) {
  auto id = runtime_->create(spec({"/bin/sleep", "1000"}));
  ASSERT_TRUE(id.ok()) << id.error().message;
  ASSERT_TRUE(runtime_->start(*id).ok());
  EXPECT_EQ(runtime_->remove(*id, false).error().code, "container.running");
  ASSERT_TRUE(runtime_->remove(*id, true).ok());
  EXPECT_FALSE(fs::exists(state_.path() / "install-a/state" / *id));
  auto listing = run_process({"crun", "--root", (state_.path() / "install-a/crun").string(), "list", "-q"});
  ASSERT_TRUE(listing.ok());
  EXPECT_EQ(listing->out, "");
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory/squadbox/" + *id));
}

TEST_F(OciRuntimeTest, ListBySelector) {
  auto a = sh("exit 0");
  a.labels = {{kLabelNamespace, "main"}, {kLabelRun, "1"}};
  auto b = sh("exit 0");
  b.labels = {{kLabelNamespace, "other"}, {kLabelRun, "2"}};
  auto ida = runtime_->create(a);
  auto idb = runtime_->create(b);
  ASSERT_TRUE(ida.ok() && idb.ok());
  auto main = runtime_->list({{kLabelNamespace, "main"}});
  ASSERT_TRUE(main.ok());
  ASSERT_EQ(main->size(), 1u);
  EXPECT_EQ(main->front().id, *ida);
  EXPECT_EQ(runtime_->list({{kLabelNamespace, "main"}, {kLabelRun, "2"}})->size(), 0u);
  EXPECT_EQ(runtime_->list({{kLabelInstall, "install-a"}})->size(), 2u);
  EXPECT_EQ(runtime_->list({})->size(), 2u);
}

TEST_F(OciRuntimeTest, InstallsAreIsolated) {
  auto other = make_runtime("install-b");
  struct Cleanup {
    OciRuntime& rt;
    ~Cleanup() { OciFixture::cleanup(rt); }
  } guard{*other};
  auto ida = runtime_->create(spec({"/bin/sleep", "1000"}));
  auto idb = other->create(spec({"/bin/sleep", "1000"}));
  ASSERT_TRUE(ida.ok() && idb.ok());
  auto la = runtime_->list({});
  auto lb = other->list({});
  ASSERT_EQ(la->size(), 1u);
  ASSERT_EQ(lb->size(), 1u);
  EXPECT_EQ(la->front().id, *ida);
  EXPECT_EQ(lb->front().id, *idb);
  EXPECT_EQ(runtime_->inspect(*idb).error().code, "container.not_found");
  EXPECT_FALSE(runtime_->kill(*idb, SIGKILL).ok());
}

TEST_F(OciRuntimeTest, RunsAsNobody) {
  EXPECT_EQ(run(sh("[ \"$(id -u)\" = 65534 ] || exit 1; [ \"$(id -g)\" = 65534 ] || exit 2; "
                   "grep -q '^CapEff:\t0000000000000000' /proc/self/status || exit 3; "
                   "grep -q '^NoNewPrivs:\t1' /proc/self/status || exit 4"))
                .exit_code,
            0);
}

TEST_F(OciRuntimeTest, NoNetwork) {
  // /proc/net/dev: two header lines, then one "name:" line per interface.
  EXPECT_EQ(run(sh("exit $(grep -c : /proc/net/dev)")).exit_code, 1);
  EXPECT_EQ(run(sh("grep -q '^ *lo:' /proc/net/dev")).exit_code, 0);
}

TEST_F(OciRuntimeTest, ReadOnlyRootWritableTmp) {
  EXPECT_EQ(run(sh("touch /x 2>/dev/null && exit 1; touch /tmp/x || exit 2; "
                   "touch /bin/y 2>/dev/null && exit 3; exit 0"))
                .exit_code,
            0);
}

TEST_F(OciRuntimeTest, EnvironmentIsExactlyTheSpec) {
  ::setenv("SB_HOST_ONLY_VARIABLE", "leak", 1);
  auto s =
      sh("tr '\\0' '\\n' < /proc/1/environ | sort > /tmp/e; "
         "grep -q SB_HOST_ONLY_VARIABLE /tmp/e && exit 10; "
         "grep -qx FOO=bar /tmp/e || exit 11; grep -q '^PATH=' /tmp/e || exit 12; "
         "grep -v -e ^FOO= -e ^PATH= -e ^HOME= /tmp/e && exit 13; exit $(wc -l < /tmp/e)");
  s.env = {{"FOO", "bar"}};
  // The OCI runtime itself adds HOME (from /etc/passwd) when the spec has none.
  EXPECT_EQ(run(s).exit_code, 3);
  ::unsetenv("SB_HOST_ONLY_VARIABLE");
}

TEST_F(OciRuntimeTest, MemoryLimitReportsOom) {
  auto s = sh("dd if=/dev/zero of=/dev/null bs=64M count=1");
  s.limits.memory_bytes = 16ll << 20;
  auto e = run(s);
  EXPECT_TRUE(e.oom_killed);
  EXPECT_NE(e.exit_code, 0);
  // And a container within its limit is not flagged.
  auto ok = sh("dd if=/dev/zero of=/dev/null bs=1M count=1");
  ok.limits.memory_bytes = 16ll << 20;
  EXPECT_FALSE(run(ok).oom_killed);
}

TEST_F(OciRuntimeTest, PidsLimit) {
  auto s = sh("for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do sleep 30 & done; exit 0");
  s.limits.pids = 8;
  auto e = run(s);
  EXPECT_NE(e.exit_code, 0) << "forking beyond the pids limit must fail";
  s.limits.pids = 64;
  auto relaxed = sh("for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do true & done; wait; exit 0");
  relaxed.limits.pids = 64;
  EXPECT_EQ(run(relaxed).exit_code, 0);
}

TEST_F(OciRuntimeTest, BindMountFromPolicy) {
  TempDir ws;
  fs::permissions(ws.path(), fs::perms(0777));
  RunMountRequest req;
  req.workspace = ws.path().string();
  req.workspace_read_write = true;
  auto mounts = MountPolicy::validate(req);
  ASSERT_TRUE(mounts.ok()) << mounts.error().message;
  auto s = sh("id -u > /workspace/uid");
  s.mounts = *mounts;
  s.workdir = "/workspace";
  EXPECT_EQ(run(s).exit_code, 0);
  std::ifstream in(ws.path() / "uid");
  std::string uid;
  in >> uid;
  EXPECT_EQ(uid, "65534");

  req.workspace_read_write = false;
  auto ro = MountPolicy::validate(req);
  ASSERT_TRUE(ro.ok());
  auto s2 = sh("touch /workspace/other 2>/dev/null && exit 1; cat /workspace/uid >/dev/null || exit 2");
  s2.mounts = *ro;
  EXPECT_EQ(run(s2).exit_code, 0);
}

TEST_F(OciRuntimeTest, ImageNotFound) {
  auto s = sh("true");
  s.image = "nope:1";
  auto id = runtime_->create(s);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, "image.not_found");
  EXPECT_NE(id.error().message.find("nope:1"), std::string::npos);
  EXPECT_NE(id.error().message.find("squadbox image build"), std::string::npos);
}

TEST_F(OciRuntimeTest, ImageEntrypointIsDefault) {
  // The test image's "agent" is busybox installed as "squadbox-agent", which busybox
  // takes for an applet name it does not know: proof that the entrypoint ran.
  auto id = runtime_->create(spec({}));
  ASSERT_TRUE(id.ok()) << id.error().message;
  ASSERT_TRUE(runtime_->start(*id).ok());
  auto e = runtime_->wait(*id, std::chrono::seconds(30));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->exit_code, 127);
  std::ifstream log(runtime_->output_log(*id));
  std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find("squadbox-agent: applet not found"), std::string::npos) << text;
}

}  // namespace
}  // namespace sb::container::oci::test

namespace sb::container::oci::test {
namespace {

// runc is the supported alternative runtime: same bundle, same subreaper-based wait.
TEST_F(OciRuntimeTest, RuncBackend) {
  OciRuntimeOptions o;
  o.state_dir = state_.path() / "runc/state";
  o.runtime_root = state_.path() / "runc/root";
  o.runtime_binary = "runc";
  OciRuntime runc(o, *store_);
  struct Cleanup {
    OciRuntime& rt;
    ~Cleanup() { OciFixture::cleanup(rt); }
  } guard{runc};
  EXPECT_TRUE(runc.version()->version.starts_with("runc ")) << runc.version()->version;
  EXPECT_EQ(run(sh("[ \"$(id -u)\" = 65534 ] || exit 1; touch /x 2>/dev/null && exit 2; exit 7"), &runc).exit_code, 7);
  auto id = runc.create(spec({"/bin/sleep", "1000"}));
  ASSERT_TRUE(id.ok()) << id.error().message;
  ASSERT_TRUE(runc.start(*id).ok());
  ASSERT_TRUE(runc.kill(*id, SIGKILL).ok());
  auto e = runc.wait(*id, std::chrono::seconds(30));
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->signal, SIGKILL);
  EXPECT_TRUE(runc.remove(*id, false).ok());
}

}  // namespace
}  // namespace sb::container::oci::test
