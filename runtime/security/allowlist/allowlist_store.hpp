#pragma once
// The current mount allowlist, shared by every run: read from the JSON file at start
// and again whenever the file changes (inotify on its parent directory, so an editor's
// rename-over and a delete/recreate are seen), each load audited as
// `allowlist.reloaded` (detail: roots, patterns, dropped roots) or `allowlist.invalid`
// (detail: error). A missing or invalid file never leaves stale rules behind: it yields
// rules that deny every allowlisted mount, with a warning in the log.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/core/audit_sink.hpp"
#include "runtime/core/fs.hpp"
#include "runtime/security/allowlist/allowlist_rules.hpp"

namespace sb::security::allowlist {

// One load without a store (the CLI): read, parse, resolve roots. Never fails: a bad
// file gives rules with `unavailable` set. Roots that are missing, not directories, or
// are/pass through a symlink are dropped (listed in `warnings`): a symlinked root could
// be re-pointed later by whoever can write its parent.
AllowlistRules load_allowlist(const std::string& file, std::vector<ProtectedPath> protected_paths);

struct AllowlistStoreOptions {
  std::string file;  // ~ is expanded
  std::vector<ProtectedPath> protected_paths;
  AuditSink audit;    // may be empty
  bool watch = true;  // reload on change
};

class AllowlistStore {
 public:
  explicit AllowlistStore(AllowlistStoreOptions options);
  ~AllowlistStore();  // stops and joins the watcher
  AllowlistStore(const AllowlistStore&) = delete;
  AllowlistStore& operator=(const AllowlistStore&) = delete;

  // Never null. Immutable: hold it for the length of one decision.
  std::shared_ptr<const AllowlistRules> current() const;
  // How many loads happened (the first is 1): tests wait on it after a change.
  uint64_t generation() const { return generation_.load(); }
  // Reads the file again now.
  void reload();

 private:
  bool arm_watch();  // (re)adds the inotify watch on the file's directory
  void watch_loop();

  AllowlistStoreOptions options_;
  std::mutex reload_mutex_;  // one load at a time: generations stay ordered
  mutable std::mutex mutex_;
  std::shared_ptr<const AllowlistRules> current_;
  std::atomic<uint64_t> generation_{0};
  UniqueFd stop_fd_;  // eventfd: wakes the watcher to stop
  // Armed before the first load, so no change between load and watch is missed; used
  // only by the watcher thread afterwards.
  UniqueFd inotify_;
  int watch_ = -1;
  bool watch_warned_ = false;
  std::thread watcher_;
};

}  // namespace sb::security::allowlist
