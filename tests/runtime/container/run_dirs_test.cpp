// The run-directory janitor (L4 of the 2026-12 audit).
#include "runtime/container/run_dirs.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST(RunDirs, RemovesEndedRunsOlderThanTheRetentionAndKeepsLiveOnes) {
  sb::test::TempDir dir;
  const std::string root = dir.file("runs");
  for (const char* run : {"run-live", "run-old", "run-young"}) {
    fs::create_directories(root + "/" + run + "/ipc/errors");
    std::ofstream(root + "/" + run + "/ipc/errors/rejected.json") << "{}";
  }
  std::ofstream(root + "/not-a-dir") << "x";
  fs::create_directory_symlink(dir.path(), root + "/a-link");  // never followed
  const auto old_time = fs::file_time_type::clock::now() - 2h;
  fs::last_write_time(root + "/run-old", old_time);
  fs::last_write_time(root + "/run-live", old_time);
  auto report = sb::container::prune_run_dirs(root, {"run-live"}, 1h);
  EXPECT_EQ(report.removed, 1u);
  EXPECT_EQ(report.failed, 0u);
  EXPECT_FALSE(fs::exists(root + "/run-old"));
  EXPECT_TRUE(fs::exists(root + "/run-live"));
  EXPECT_TRUE(fs::exists(root + "/run-young"));
  EXPECT_TRUE(fs::exists(root + "/not-a-dir"));
  EXPECT_TRUE(fs::exists(dir.path()));  // the link's target is untouched
  // Retention 0: everything not live goes.
  report = sb::container::prune_run_dirs(root, {"run-live"}, 0ms);
  EXPECT_FALSE(fs::exists(root + "/run-young"));
  EXPECT_TRUE(fs::exists(root + "/run-live"));
  EXPECT_EQ(sb::container::prune_run_dirs(dir.file("missing"), {}, 0ms).removed, 0u);
}

}  // namespace
