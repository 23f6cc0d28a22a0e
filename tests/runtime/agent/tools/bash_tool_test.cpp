// The bash tool on the host (no container): exit codes, the output cap, and the
// timeout, which must kill the whole process group (a child that ignores SIGTERM, a
// background grandchild) and say so.
#include "runtime/agent/tools/bash_tool.hpp"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace {

using namespace sb::agent;
using namespace std::chrono_literals;

ToolResult bash(const std::string& cwd, const std::string& cmd, std::chrono::milliseconds timeout = 10s,
                std::size_t cap = 32768) {
  return run_bash({cmd, cwd, timeout, cap});
}

// Gone, or a zombie nobody reaped yet (it can do nothing any more).
bool process_dead(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

bool wait_dead(pid_t pid) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (process_dead(pid)) return true;
    std::this_thread::sleep_for(5ms);  // polling a condition we cannot be notified of
  }
  return false;
}

TEST(BashTool, OutputAndExitCodeInTheWorkspace) {
  sb::test::TempDir ws("sb-bash");
  auto r = bash(ws.path(), "pwd; echo err >&2; exit 3");
  EXPECT_FALSE(r.is_error);
  EXPECT_EQ(r.content, ws.path() + "\nerr\n[exit code 3]");
  EXPECT_EQ(bash(ws.path(), "true").content, "[exit code 0]");
  EXPECT_EQ(bash(ws.path(), "printf x").content, "x\n[exit code 0]");
  EXPECT_EQ(bash(ws.path(), "kill -9 $$").content, "[killed by signal 9]");
  EXPECT_EQ(bash(ws.path(), "cat").content, "[exit code 0]");  // stdin is /dev/null: no hang
  auto missing = bash(ws.path() + "/nope", "true");
  EXPECT_NE(missing.content.find("[exit code 126]"), std::string::npos) << missing.content;
}

TEST(BashTool, OutputIsCappedButFullyRead) {
  sb::test::TempDir ws("sb-bash");
  auto r = bash(ws.path(), "head -c 300000 /dev/zero | tr '\\0' y; echo; echo tail", 10s, 1000);
  EXPECT_EQ(r.content.substr(0, 1000), std::string(1000, 'y'));
  EXPECT_NE(r.content.find("[... output truncated: 1000 of 300006 bytes shown]"), std::string::npos) << r.content;
  EXPECT_NE(r.content.find("[exit code 0]"), std::string::npos);  // the writer was not blocked on a full pipe
}

TEST(BashTool, TimeoutKillsTheWholeGroup) {
  sb::test::TempDir ws("sb-bash");
  const auto start = std::chrono::steady_clock::now();
  auto r = bash(ws.path(), "trap '' TERM; sleep 100 & echo $!; sh -c 'trap \"\" TERM; sleep 100' & echo $!; sleep 100",
                500ms);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.is_error);
  EXPECT_NE(r.content.find("(timeout)]"), std::string::npos) << r.content;
  EXPECT_NE(r.content.find("[killed after "), std::string::npos) << r.content;
  EXPECT_LT(took, 5s);
  std::istringstream pids(r.content);
  pid_t child = 0, grandchild_sh = 0;
  pids >> child >> grandchild_sh;
  ASSERT_GT(child, 0) << r.content;
  ASSERT_GT(grandchild_sh, 0) << r.content;
  EXPECT_TRUE(wait_dead(child)) << child;
  EXPECT_TRUE(wait_dead(grandchild_sh)) << grandchild_sh;
}

TEST(BashTool, BackgroundJobsDoNotOutliveTheCall) {
  sb::test::TempDir ws("sb-bash");
  const auto start = std::chrono::steady_clock::now();
  auto r = bash(ws.path(), "sleep 100 & echo $!", 30s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);  // did not wait for the job holding the pipe
  EXPECT_FALSE(r.is_error);
  pid_t job = std::atoi(r.content.c_str());
  ASSERT_GT(job, 0) << r.content;
  EXPECT_TRUE(wait_dead(job));
}

}  // namespace
