// The pure rules of scheduled runs in a namespace: which runs are acceptable, their ids
// and keys, and how a scheduled container's end becomes the scheduler's answer.
#include "runtime/namespaces/scheduled_run_rules.hpp"

#include <gtest/gtest.h>

namespace sb::namespaces {
namespace {

using container::EndReason;
using container::RunResult;
using container::RunState;
using schedule::ContextMode;
using schedule::RunStatus;
using schedule::ScheduledRun;

TEST(ScheduledRunRules, ClassifiesHowTheRunEnded) {
  RunResult r;
  r.final_state = RunState::exited;
  r.reason = EndReason::finished;
  EXPECT_EQ(classify_task_run(r, true, "").status, RunStatus::success);
  EXPECT_EQ(classify_task_run(r, true, "boom").status, RunStatus::error);
  EXPECT_EQ(classify_task_run(r, true, "boom").error, "boom");
  r.reason = EndReason::hard_timeout;
  EXPECT_EQ(classify_task_run(r, false, "").status, RunStatus::timeout);
  EXPECT_EQ(classify_task_run(r, true, "").status, RunStatus::success);  // finished, then closed
  r.final_state = RunState::dead;
  r.reason = EndReason::gave_up;
  r.detail = "exit code 3";
  auto dead = classify_task_run(r, false, "");
  EXPECT_EQ(dead.status, RunStatus::error);
  EXPECT_NE(dead.error.find("exit code 3"), std::string::npos);
  r.detail = "";
  EXPECT_NE(classify_task_run(r, false, "").error.find("gave_up"), std::string::npos);

  EXPECT_EQ(task_run_id("alpha", "00ff"), "task-alpha-00ff");
  EXPECT_EQ(task_announce_key(42, 1), "task:42:1");
  EXPECT_EQ(join_task_result({}), "");
  EXPECT_EQ(join_task_result({"a", "b"}), "a\nb");
}

TEST(ScheduledRunRules, RejectsBadRuns) {
  ScheduledRun r;
  r.namespace_id = "id";
  r.prompt = "p";
  EXPECT_TRUE(validate_scheduled_run(r).ok());
  r.context_mode = ContextMode::group;
  EXPECT_TRUE(validate_scheduled_run(r).ok());
  r.context_mode = static_cast<ContextMode>(7);  // neither group nor isolated
  EXPECT_EQ(validate_scheduled_run(r).error().code, "task.invalid");
  r.context_mode = ContextMode::isolated;
  r.timeout_secs = -1;
  EXPECT_FALSE(validate_scheduled_run(r).ok());
  r.timeout_secs = 0;
  r.prompt = "";
  EXPECT_FALSE(validate_scheduled_run(r).ok());
  r.prompt = "p";
  r.namespace_id = "";
  EXPECT_FALSE(validate_scheduled_run(r).ok());
}
}  // namespace
}  // namespace sb::namespaces
