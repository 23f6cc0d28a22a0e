#include "runtime/container/run_dirs.hpp"

#include <sys/stat.h>

#include <filesystem>

#include "runtime/core/log.hpp"

namespace sb::container {

RunDirPrune prune_run_dirs(const std::string& runs_root, const std::set<std::string>& live,
                           std::chrono::milliseconds retention, std::chrono::system_clock::time_point now) {
  namespace fs = std::filesystem;
  RunDirPrune out;
  std::error_code ec;
  fs::directory_iterator it(runs_root, ec);
  if (ec) return out;
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    const auto changed =
        std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec)) +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(st.st_mtim.tv_nsec));
    if (live.contains(name) || now - changed < retention) {
      ++out.kept;
      continue;
    }
    std::error_code rm;
    fs::remove_all(entry.path(), rm);
    if (rm) {
      ++out.failed;
      log::warn("container.run_dir_not_removed", {{"path", entry.path().string()}, {"error", rm.message()}});
    } else {
      ++out.removed;
    }
  }
  return out;
}

}  // namespace sb::container
