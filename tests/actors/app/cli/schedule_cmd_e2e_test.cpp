// `squadbox schedule add|list|show|pause|resume|run|runs|rm` through the real binary
// against a real `squadbox serve`.
#include <chrono>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/node_process.hpp"

namespace {

using sb::test::NodeProcess;
using sb::test::run_cli;
using sb::test::TempDir;

// The id from "created NAME ID, next run ...".
std::string created_id(const std::string& out) {
  std::istringstream in(out);
  std::string word, name, id;
  in >> word >> name >> id;
  if (!id.empty() && id.back() == ',') id.pop_back();
  return id;
}

TEST(ScheduleCli, TasksAgainstARunningNode) {
  TempDir dir;
  NodeProcess node(dir);
  ASSERT_TRUE(node.wait_ready()) << node.process().stderr_text();
  const std::string d = dir.path();
  auto cli = [&](const std::string& tag, std::vector<std::string> args) {
    args.push_back("--data-dir");
    args.push_back(d);
    return run_cli(dir, tag, args);
  };
  ASSERT_EQ(cli("ns", {"ns", "add", "team"}).code, 0);

  auto add = cli("add", {"schedule", "add", "standup", "--group", "team", "--prompt", "Summarise", "--cron",
                         "0 9 * * 1-5", "--tz", "Europe/Berlin", "--timeout-secs", "600"});
  ASSERT_EQ(add.code, 0) << add.err;
  EXPECT_TRUE(add.out.starts_with("created standup ")) << add.out;
  const std::string id = created_id(add.out);
  ASSERT_EQ(id.size(), 36u) << add.out;
  auto every =
      cli("every", {"schedule", "add", "poll", "--group", "team", "--prompt", "p", "--every", "30m", "--paused"});
  ASSERT_EQ(every.code, 0) << every.err;

  auto bad_cron = cli("bad-cron", {"schedule", "add", "x", "--group", "team", "--prompt", "p", "--cron", "0 9 * * 9"});
  EXPECT_EQ(bad_cron.code, 2);
  EXPECT_NE(bad_cron.err.find("schedule.value: cron: field 5 (day-of-week)"), std::string::npos) << bad_cron.err;
  auto two_kinds = cli(
      "two-kinds", {"schedule", "add", "x", "--group", "team", "--prompt", "p", "--cron", "@daily", "--every", "1h"});
  EXPECT_EQ(two_kinds.code, 2);
  auto no_group = cli("no-group", {"schedule", "add", "x", "--group", "nope", "--prompt", "p", "--every", "1h"});
  EXPECT_EQ(no_group.code, 2);
  EXPECT_NE(no_group.err.find("group: no namespace nope"), std::string::npos) << no_group.err;

  auto list = cli("list", {"schedule", "list"});
  EXPECT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find(id + "\tstandup\tteam\tactive\tcron 0 9 * * 1-5\tnext "), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("\tpoll\tteam\tpaused\tinterval 1800000\tnext -"), std::string::npos) << list.out;
  auto paused_only = cli("list-paused", {"schedule", "list", "--status", "paused"});
  EXPECT_EQ(paused_only.out.find("standup"), std::string::npos) << paused_only.out;

  auto show = cli("show", {"schedule", "show", id});
  EXPECT_EQ(show.code, 0);
  EXPECT_NE(show.out.find(R"("timeZone":"Europe/Berlin")"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find(R"("timeoutSecs":600)"), std::string::npos) << show.out;

  auto pause = cli("pause", {"schedule", "pause", id});
  EXPECT_EQ(pause.out, id + " paused, next run -\n") << pause.err;
  auto resume = cli("resume", {"schedule", "resume", id});
  EXPECT_TRUE(resume.out.starts_with(id + " active, next run 20")) << resume.out << resume.err;

  EXPECT_EQ(cli("run", {"schedule", "run", id}).out, "run requested for " + id + "\n");
  // The scheduler starts the requested run at once and clears the request (the run's
  // outcome depends on the agent image, so only its row is checked).
  auto runs = cli("runs", {"schedule", "runs", id});
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       runs.out.find("\tmanual\t") == std::string::npos && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    runs = cli("runs", {"schedule", "runs", id});
  }
  EXPECT_EQ(runs.code, 0) << runs.err;
  EXPECT_NE(runs.out.find("\tmanual\t"), std::string::npos) << runs.out;
  EXPECT_EQ(cli("show-requested", {"schedule", "show", id}).out.find(R"("runRequested":true)"), std::string::npos);
  EXPECT_EQ(cli("runs-bad-limit", {"schedule", "runs", id, "--limit", "0"}).code, 2);

  EXPECT_EQ(cli("rm", {"schedule", "rm", id}).out, "removed " + id + "\n");
  auto gone = cli("show-gone", {"schedule", "show", id});
  EXPECT_EQ(gone.code, 1);
  EXPECT_EQ(cli("rm-gone", {"schedule", "rm", id}).code, 1);

  ASSERT_TRUE(node.stop().has_value());
}

}  // namespace
