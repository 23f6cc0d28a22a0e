// Apple Container backend against a recording fake `container` binary: a shell script
// written into a temp dir that appends its argv (NUL-terminated, so any byte is safe)
// to a log and prints the canned output for its subcommand.
#include "runtime/container/apple/apple_runtime.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "runtime/container/apple/apple_args.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::container::apple {
namespace {

using namespace std::chrono_literals;
using Argv = std::vector<std::string>;

constexpr const char* kSnapshots = R"([
 {"status":"running","configuration":{"id":"sb-a","labels":{"io.squadbox.install":"i1","io.squadbox.run":"a"},
  "image":{"reference":"img:1"}},"networks":[]},
 {"status":"stopped","configuration":{"id":"sb-b","labels":{"io.squadbox.install":"i1"}},"networks":[]},
 {"status":"stopped","configuration":{"id":"other","labels":{}},"networks":[]}])";

class FakeCli {
 public:
  FakeCli() {
    bin_ = dir_.file("container");
    std::ofstream s(bin_);
    // $1 selects canned stdout ($DIR/out.$1 or out.version for --version) and exit
    // code (rc.$1, default 0). A lone \x01 argument separates calls in the log.
    s << "#!/bin/sh\n"
         "d='"
      << dir_.path()
      << "'\n"
         "for a in \"$@\"; do printf '%s\\0' \"$a\" >> \"$d/argv.log\"; done\n"
         "printf '\\001\\0' >> \"$d/argv.log\"\n"
         "k=\"$1\"; [ \"$k\" = --version ] && k=version\n"
         "[ -f \"$d/err.$k\" ] && cat \"$d/err.$k\" >&2\n"
         "[ -f \"$d/out.$k\" ] && cat \"$d/out.$k\"\n"
         "[ -f \"$d/rc.$k\" ] && exit \"$(cat \"$d/rc.$k\")\"\n"
         "exit 0\n";
    s.close();
    ::chmod(bin_.c_str(), 0755);
  }
  void set(const std::string& sub, const std::string& out, int rc = 0, const std::string& err = "") {
    std::ofstream(dir_.file("out." + sub)) << out;
    std::ofstream(dir_.file("rc." + sub)) << rc;
    std::ofstream(dir_.file("err." + sub)) << err;
  }
  // Every recorded call, argv[0] excluded.
  std::vector<Argv> calls() const {
    std::ifstream in(dir_.file("argv.log"), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string log = ss.str();
    std::vector<Argv> out(1);
    size_t pos = 0;
    while (pos < log.size()) {
      const size_t end = log.find('\0', pos);
      const std::string arg = log.substr(pos, end - pos);
      pos = end + 1;
      if (arg == "\x01") {
        out.emplace_back();
      } else {
        out.back().push_back(arg);
      }
    }
    out.pop_back();
    return out;
  }
  const std::string& bin() const { return bin_; }

 private:
  test::TempDir dir_{"sbapple"};
  std::string bin_;
};

ContainerSpec sample() {
  ContainerSpec s;
  s.name = "sb-run-1";
  s.image = "squadbox/agent:1";
  s.command = {"sh", "-c", "echo 'a b'\nexit 3"};
  s.env = {{"A", "1"}, {"B", "with space"}};
  s.labels = {{kLabelInstall, "i1"}, {kLabelRun, "r1"}};
  s.uid = 1000;
  s.gid = 1001;
  s.limits = {512ll << 20, 256, 1500};
  return s;
}

TEST(AppleArgs, CreateArgv) {
  const ContainerSpec s = sample();
  AppleCall call = make_call(Op::create);
  call.spec = &s;
  EXPECT_EQ(build_argv("container", call), (Argv{"container",
                                                 "create",
                                                 "--name",
                                                 "sb-run-1",
                                                 "--label",
                                                 "io.squadbox.install=i1",
                                                 "--label",
                                                 "io.squadbox.run=r1",
                                                 "--env",
                                                 "A=1",
                                                 "--env",
                                                 "B=with space",
                                                 "--user",
                                                 "1000:1001",
                                                 "--workdir",
                                                 "/workspace",
                                                 "--tmpfs",
                                                 "/tmp",
                                                 "--memory",
                                                 "512M",
                                                 "--cpus",
                                                 "2",
                                                 "squadbox/agent:1",
                                                 "sh",
                                                 "-c",
                                                 "echo 'a b'\nexit 3"}));
}

TEST(AppleArgs, CreateArgvMinimal) {
  ContainerSpec s;
  s.name = "n";
  s.image = "img";
  s.workdir.clear();
  s.limits = {0, 0, 0};
  s.extra_args = {"--rosetta"};
  AppleCall call = make_call(Op::create);
  call.spec = &s;
  EXPECT_EQ(build_argv("/opt/container", call), (Argv{"/opt/container", "create", "--name", "n", "--user",
                                                      "65534:65534", "--tmpfs", "/tmp", "--rosetta", "img"}));
}

TEST(AppleArgs, OtherCommands) {
  AppleCall c;
  c.id = "sb-1";
  c.op = Op::version;
  EXPECT_EQ(build_argv("container", c), (Argv{"container", "--version"}));
  c.op = Op::start;
  EXPECT_EQ(build_argv("container", c), (Argv{"container", "start", "sb-1"}));
  c.op = Op::kill;
  c.signal = 15;
  EXPECT_EQ(build_argv("container", c), (Argv{"container", "kill", "--signal", "SIGTERM", "sb-1"}));
  c.signal = 9;
  EXPECT_EQ(build_argv("container", c), (Argv{"container", "kill", "--signal", "SIGKILL", "sb-1"}));
  c.op = Op::remove;
  EXPECT_EQ(build_argv("container", c), (Argv{"container", "delete", "sb-1"}));
  c.force = true;
  EXPECT_EQ(build_argv("container", c), (Argv{"container", "delete", "--force", "sb-1"}));
  c.op = Op::list;
  EXPECT_EQ(build_argv("container", c), (Argv{"container", "list", "--all", "--format", "json"}));
  c.op = Op::inspect;
  EXPECT_EQ(build_argv("container", c), (Argv{"container", "inspect", "sb-1"}));
}

TEST(AppleArgs, LimitsRoundUp) {
  EXPECT_EQ(memory_arg(1), "1M");
  EXPECT_EQ(memory_arg(16ll << 20), "16M");
  EXPECT_EQ(memory_arg((16ll << 20) + 1), "17M");
  EXPECT_EQ(cpus_arg(1), "1");
  EXPECT_EQ(cpus_arg(1000), "1");
  EXPECT_EQ(cpus_arg(2001), "3");
}

TEST(AppleArgs, Versions) {
  EXPECT_EQ(*parse_version("container CLI version 0.2.0 (build: release, commit: 1a2b3c4)\n"), "0.2.0");
  EXPECT_EQ(*parse_version("0.10.1"), "0.10.1");
  EXPECT_EQ(parse_version("container CLI version unknown").error().code, "apple.bad_version");
  EXPECT_TRUE(check_min_version("0.2.0"));
  EXPECT_TRUE(check_min_version("0.10.0"));
  EXPECT_TRUE(check_min_version("1.0.0"));
  EXPECT_EQ(check_min_version("0.1.0").error().code, "apple.too_old");
  EXPECT_EQ(check_min_version("x").error().code, "apple.bad_version");
}

TEST(AppleArgs, Snapshots) {
  auto list = parse_snapshots(kSnapshots);
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].id, "sb-a");
  EXPECT_EQ((*list)[0].name, "sb-a");
  EXPECT_EQ((*list)[0].state, ContainerState::running);
  EXPECT_EQ((*list)[0].labels.at(kLabelRun), "a");
  EXPECT_EQ((*list)[1].state, ContainerState::exited);
  EXPECT_FALSE((*list)[1].exit);
  auto with_code = parse_snapshots(R"([{"status":"stopped","exitCode":137,"configuration":{"id":"x"}}])");
  ASSERT_TRUE(with_code);
  ASSERT_TRUE((*with_code)[0].exit);
  EXPECT_EQ((*with_code)[0].exit->signal, 9);
  EXPECT_EQ(parse_snapshots("{}").error().code, "apple.bad_response");
  EXPECT_EQ(parse_snapshots(R"([{"status":"running"}])").error().code, "apple.bad_response");
}

TEST(AppleRuntime, DrivesTheCliWithExactArgv) {
  FakeCli cli;
  cli.set("version", "container CLI version 0.2.0 (build: release, commit: abc)\n");
  cli.set("create", "sb-run-1\n");
  cli.set("list", kSnapshots);
  cli.set("inspect", R"([{"status":"stopped","configuration":{"id":"sb-run-1","labels":{}}}])");
  AppleRuntime rt({cli.bin(), 10s, 10ms});

  auto v = rt.version();
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->backend, "apple");
  EXPECT_EQ(v->version, "0.2.0");
  const ContainerSpec s = sample();
  auto id = rt.create(s);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(*id, "sb-run-1");
  ASSERT_TRUE(rt.start(*id));
  auto ex = rt.wait(*id, 5s);
  ASSERT_TRUE(ex) << ex.error().message;
  EXPECT_EQ(ex->exit_code, -1);  // 0.2 reports no exit code
  ASSERT_TRUE(rt.kill(*id, 15));
  ASSERT_TRUE(rt.remove(*id, true));
  auto mine = rt.list({{kLabelInstall, "i1"}});
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[1].id, "sb-b");
  EXPECT_EQ(rt.list({{kLabelInstall, "i1"}, {kLabelRun, "a"}})->size(), 1u);

  const auto calls = cli.calls();
  ASSERT_EQ(calls.size(), 8u);
  EXPECT_EQ(calls[0], (Argv{"--version"}));
  EXPECT_EQ(calls[1][0], "create");
  EXPECT_EQ(calls[1].back(), "echo 'a b'\nexit 3");  // newline inside an argument survives
  EXPECT_EQ(calls[2], (Argv{"start", "sb-run-1"}));
  EXPECT_EQ(calls[3], (Argv{"inspect", "sb-run-1"}));
  EXPECT_EQ(calls[4], (Argv{"kill", "--signal", "SIGTERM", "sb-run-1"}));
  EXPECT_EQ(calls[5], (Argv{"delete", "--force", "sb-run-1"}));
  EXPECT_EQ(calls[6], (Argv{"list", "--all", "--format", "json"}));
  EXPECT_EQ(calls[7], calls[6]);
}

TEST(AppleRuntime, WaitTimesOutWhileRunning) {
  FakeCli cli;
  cli.set("inspect", R"([{"status":"running","configuration":{"id":"x"}}])");
  AppleRuntime rt({cli.bin(), 10s, 20ms});
  // Long enough for two polls even when each fake CLI call (a process) takes a loaded
  // machine half a second to start: 200 ms saw a single call in a CI run.
  auto ex = rt.wait("x", 1500ms);
  ASSERT_FALSE(ex);
  EXPECT_EQ(ex.error().code, "container.timeout");
  EXPECT_GE(cli.calls().size(), 2u);
}

TEST(AppleRuntime, ErrorsCarryTheCliMessage) {
  FakeCli cli;
  cli.set("start", "", 1, "Error: container sb-x is already running\n");
  cli.set("delete", "", 1, "Error: notFound: \"container sb-y not found\"\n");
  cli.set("inspect", "", 1, "Error: notFound: \"container sb-y not found\"\n");
  cli.set("version", "container CLI version 0.1.0\n");
  AppleRuntime rt({cli.bin(), 10s, 10ms});
  auto st = rt.start("sb-x");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "apple.command_failed");
  EXPECT_NE(st.error().message.find("already running"), std::string::npos) << st.error().message;
  EXPECT_TRUE(rt.remove("sb-y", false));  // unknown id: ok
  EXPECT_EQ(rt.inspect("sb-y").error().code, "container.not_found");
  EXPECT_EQ(rt.version().error().code, "apple.too_old");
}

TEST(AppleRuntime, MissingBinaryAndTimeouts) {
  AppleRuntime missing({"/nonexistent/container", 5s, 10ms});
  auto v = missing.version();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, "apple.exec");
  auto r = run_command({"/bin/sleep", "5"}, 100ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "apple.timeout");
  auto ok = run_command({"/bin/sh", "-c", "echo out; echo err >&2; exit 4"}, 5s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->exit_code, 4);
  EXPECT_EQ(ok->out, "out\n");
  EXPECT_EQ(ok->err, "err\n");
}

}  // namespace
}  // namespace sb::container::apple
