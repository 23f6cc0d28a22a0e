#pragma once
// container_run_store on both engines (tests/support/store_engines.hpp): the supervisor's writes (run by the
// GroupCommitter the storage writer uses), the admin listing, the cowork check and the
// start-up reconcile's read and close.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/container_run_store.hpp"
#include "storage/group_committer.hpp"
#include "storage/migrations.hpp"
#include "tests/support/storage_test_support.hpp"
#include "tests/support/store_engines.hpp"

namespace sb::storage {
namespace {

using test::open_db;
using test::query_int;
using test::query_text;
using test::TempDir;

ContainerRunRow run(const std::string& id, const std::string& kind = "agent", const std::string& state = "pending") {
  ContainerRunRow r;
  r.id = id;
  r.namespace_id = "alpha";
  r.kind = kind;
  r.backend = "oci";
  r.image = "squadbox/agent:1";
  r.state = state;
  return r;
}

class ContainerRunStore : public sb::test::StoreOnEngine {
 protected:
  WriteOutcome write(const WriteOp& op) {
    auto out = gc_->commit_single(op);
    EXPECT_TRUE(out.ok) << out.error_code << ": " << out.error_message;
    return out;
  }
  std::vector<ContainerRunRow> list(const std::optional<std::string>& state = std::nullopt) {
    auto rows = list_container_runs(*reader_, state);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? *rows : std::vector<ContainerRunRow>{};
  }
  static std::vector<std::string> ids(const std::vector<ContainerRunRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.id);
    return out;
  }
  bool live_cowork(const std::string& id) {
    auto live = is_live_cowork_run(*reader_, id);
    EXPECT_TRUE(live) << live.error().message;
    return live && *live;
  }
};

TEST_P(ContainerRunStore, ANewRunIsListedPendingWithNoTimesYet) {
  write(insert_container_run(run("r1")));
  auto rows = list();
  ASSERT_EQ(rows.size(), 1u);
  const auto& r = rows.front();
  EXPECT_EQ(r.id, "r1");
  EXPECT_EQ(r.namespace_id, "alpha");
  EXPECT_EQ(r.kind, "agent");
  EXPECT_EQ(r.backend, "oci");
  EXPECT_EQ(r.image, "squadbox/agent:1");
  EXPECT_EQ(r.state, "pending");
  EXPECT_FALSE(r.exit_code.has_value());
  EXPECT_FALSE(r.started_at_ms.has_value());
  EXPECT_FALSE(r.ended_at_ms.has_value());
  EXPECT_EQ(r.error, "");
}

TEST_P(ContainerRunStore, TheLifecycleWritesLandOnTheRunAndItsTransitions) {
  write(insert_container_run(run("r1")));
  write(insert_run_transition("r1", "pending", "starting", 100, ""));
  write(set_run_state("r1", "starting", ""));
  write(set_run_started("r1", 110, "docker"));
  write(insert_run_transition("r1", "starting", "running", 120, ""));
  write(set_run_state("r1", "running", ""));
  // A restart starts again: started_at keeps the first start.
  write(set_run_started("r1", 500, "oci"));
  write(insert_run_transition("r1", "running", "exited", 900, "done"));
  write(set_run_state("r1", "exited", "done"));
  write(set_run_ended("r1", 910, 3));

  auto rows = list();
  ASSERT_EQ(rows.size(), 1u);
  const auto& r = rows.front();
  EXPECT_EQ(r.state, "exited");
  EXPECT_EQ(r.error, "done");
  EXPECT_EQ(r.backend, "oci");
  EXPECT_EQ(r.started_at_ms, 110);
  EXPECT_EQ(r.ended_at_ms, 910);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(query_int(*db_, "SELECT count(*) FROM container_run_transitions WHERE run_id = 'r1'"), 3);
  EXPECT_EQ(query_text(*db_,
                       "SELECT from_state || '>' || to_state || '@' || at || ':' || reason "
                       "FROM container_run_transitions ORDER BY id DESC LIMIT 1"),
            "running>exited@900:done");
}

TEST_P(ContainerRunStore, ATransitionOfAnUnknownRunIsRefused) {
  auto out = gc_->commit_single(insert_run_transition("nope", "pending", "starting", 1, ""));
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error_code, kConstraintViolation);
}

TEST_P(ContainerRunStore, TheListingIsNewestFirstFilteredByStateAndBounded) {
  write(insert_container_run(run("a", "agent", "running")));
  write(insert_container_run(run("b", "agent", "exited")));
  write(insert_container_run(run("c", "cowork", "running")));
  EXPECT_EQ(ids(list()), (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_EQ(ids(list("running")), (std::vector<std::string>{"c", "a"}));
  EXPECT_TRUE(list("dead").empty());

  std::vector<WriteOp> more;
  for (int i = 0; i < kContainerRunListLimit; ++i) more.push_back(insert_container_run(run("m" + std::to_string(i))));
  for (const auto& out : gc_->commit_batch(more)) ASSERT_TRUE(out.ok) << out.error_message;
  auto rows = list();
  ASSERT_EQ(rows.size(), static_cast<size_t>(kContainerRunListLimit));
  EXPECT_EQ(rows.front().id, "m" + std::to_string(kContainerRunListLimit - 1));
  EXPECT_EQ(rows.back().id, "m0");
}

TEST_P(ContainerRunStore, LiveRunsAreThoseStartingIdleOrRunning) {
  for (const char* state : {"pending", "starting", "idle", "running", "stopping", "exited", "dead"})
    write(insert_container_run(run(std::string("r-") + state, "agent", state)));
  ASSERT_TRUE(
      db_->exec("INSERT INTO container_runs(id, namespace_id, kind, backend, image, state) "
                "VALUES('cw', NULL, 'cowork', 'oci', 'img', 'running')"));
  auto live = read_live_container_runs(*reader_);
  ASSERT_TRUE(live) << live.error().message;
  std::vector<std::string> got;
  for (const auto& r : *live) {
    got.push_back(r.id);
    if (r.id == "cw") {
      EXPECT_EQ(r.namespace_id, "");  // NULL reads as ""
      EXPECT_EQ(r.kind, "cowork");
      EXPECT_EQ(r.image, "img");
    } else {
      EXPECT_EQ(r.namespace_id, "alpha");
      EXPECT_EQ(r.kind, "agent");
      EXPECT_EQ(r.image, "squadbox/agent:1");
    }
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"cw", "r-idle", "r-running", "r-starting"}));
}

TEST_P(ContainerRunStore, AGoneRunIsClosedAsExitedAtStartUp) {
  write(insert_container_run(run("r1", "agent", "running")));
  write(insert_container_run(run("r2", "agent", "running")));
  ASSERT_TRUE(close_gone_container_run(*db_, "r1", 4242));
  auto rows = list();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].id, "r1");
  EXPECT_EQ(rows[1].state, "exited");
  EXPECT_EQ(rows[1].error, "broker restarted; container gone");
  EXPECT_EQ(rows[1].ended_at_ms, 4242);
  EXPECT_EQ(rows[0].state, "running");  // the other run is untouched
  auto live = read_live_container_runs(*reader_);
  ASSERT_TRUE(live);
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ(live->front().id, "r2");
}

TEST_P(ContainerRunStore, OnlyACoworkRunThatHasNotEndedIsOwnedElsewhere) {
  write(insert_container_run(run("cw-running", "cowork", "running")));
  write(insert_container_run(run("cw-pending", "cowork", "pending")));
  write(insert_container_run(run("cw-exited", "cowork", "exited")));
  write(insert_container_run(run("cw-dead", "cowork", "dead")));
  write(insert_container_run(run("agent", "agent", "running")));
  EXPECT_TRUE(live_cowork("cw-running"));
  EXPECT_TRUE(live_cowork("cw-pending"));
  EXPECT_FALSE(live_cowork("cw-exited"));
  EXPECT_FALSE(live_cowork("cw-dead"));
  EXPECT_FALSE(live_cowork("agent"));
  EXPECT_FALSE(live_cowork("unknown"));
}

TEST_P(ContainerRunStore, EachKindOfWriteHasOneSqlTextSoTheWriterReusesItsStatement) {
  EXPECT_EQ(insert_container_run(run("a")).sql, insert_container_run(run("b", "cowork", "running")).sql);
  EXPECT_EQ(insert_run_transition("a", "x", "y", 1, "").sql, insert_run_transition("b", "z", "w", 2, "r").sql);
  EXPECT_EQ(set_run_state("a", "x", "").sql, set_run_state("b", "y", "e").sql);
  EXPECT_EQ(set_run_started("a", 1, "oci").sql, set_run_started("b", 2, "docker").sql);
  EXPECT_EQ(set_run_ended("a", 1, 0).sql, set_run_ended("b", 2, -1).sql);
}

TEST_P(ContainerRunStore, ReadsOnAMissingTableFailWithTheEnginesCode) {
  ASSERT_TRUE(db_->exec("DROP TABLE container_run_transitions; DROP TABLE container_runs"));
  auto rows = list_container_runs(*db_);
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, sb::test::sql_error_code(GetParam()));
  auto live = is_live_cowork_run(*db_, "x");
  ASSERT_FALSE(live);
  EXPECT_EQ(live.error().code, sb::test::sql_error_code(GetParam()));
  EXPECT_FALSE(close_gone_container_run(*db_, "x", 1));
}

}  // namespace
}  // namespace sb::storage
