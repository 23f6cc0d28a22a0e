#pragma once
// The run-directory janitor (L4 of the 2026-12 audit): DATA_DIR/runs/<run id> holds a
// run's IPC files and copies of rejected payloads. A run removes its own directory when
// it ends (container.run_dir_retention_ms = 0); with a retention, or after a crash,
// this removes what is left: directories of runs not live, older than the retention.
#include <chrono>
#include <cstddef>
#include <set>
#include <string>

namespace sb::container {

struct RunDirPrune {
  size_t removed = 0;
  size_t kept = 0;    // live, or younger than the retention
  size_t failed = 0;  // could not be removed (logged)
};

// Removes every directory under `runs_root` whose name is not in `live` and whose last
// change is at least `retention` before `now`. Never follows a symlink; entries that are
// not directories are left alone. A missing `runs_root` is an empty one.
RunDirPrune prune_run_dirs(const std::string& runs_root, const std::set<std::string>& live,
                           std::chrono::milliseconds retention,
                           std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace sb::container
