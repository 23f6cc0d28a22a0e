#pragma once
// A directory held open (O_PATH) from the moment it was checked until the container
// that mounts it exists: the path that was checked is the path that gets mounted.
//
// The oci backend binds the pinned directory from this fd (/proc/self/fd/N) onto a
// root-only stage that crun mounts (runtime/container/oci/staged_mounts.hpp): whatever
// happened to the path meanwhile, the container gets the directory that was checked.
// Docker and Apple's daemons resolve paths themselves: they call verify_unchanged()
// right before create, which leaves a window of one API call (docs/security-mounts.md).
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "runtime/core/result.hpp"
#include "runtime/security/allowlist/allowlist_rules.hpp"

namespace sb::security::allowlist {

class PinnedPath {
 public:
  // Opens `canonical` (absolute, realpath'd) one component at a time from "/" with
  // O_PATH|O_NOFOLLOW|O_DIRECTORY|O_CLOEXEC, so a component swapped for a symlink (or a
  // file) since realpath() makes it fail instead of being followed.
  // Errors: "changed_during_check" (a component is no longer a plain directory),
  // "not_found", "unresolvable".
  static Result<std::shared_ptr<const PinnedPath>> open_directory(const std::string& canonical);

  ~PinnedPath();
  PinnedPath(const PinnedPath&) = delete;
  PinnedPath& operator=(const PinnedPath&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  uint64_t device() const { return device_; }
  uint64_t inode() const { return inode_; }
  // The pinned directory as this process's children reach it (tests, diagnostics).
  std::string proc_path() const { return "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(fd_); }

  // The path still resolves, without any symlink, to the pinned directory (same device
  // and inode). Error "mount.changed" otherwise.
  Status verify_unchanged() const;

 private:
  PinnedPath(int fd, std::string path, uint64_t device, uint64_t inode)
      : fd_(fd), path_(std::move(path)), device_(device), inode_(inode) {}
  int fd_;
  std::string path_;
  uint64_t device_;
  uint64_t inode_;
};

// "~" and "~/x" against $HOME; anything else unchanged.
std::string expand_home(const std::string& path);

// The filesystem half of a check: the host path as given (after ~) passes the text
// checks, resolves (realpath: every symlink), is a directory, and is pinned.
struct ResolvedPath {
  std::string canonical;
  std::shared_ptr<const PinnedPath> pinned;
};
// On failure, the Verdict says why (rules kInvalidHostPath, kNotFound, kUnresolvable,
// kNotDirectory, kChangedDuringCheck).
struct ResolveOutcome {
  std::optional<ResolvedPath> resolved;
  Verdict denied;  // meaningful when !resolved
};
ResolveOutcome resolve_and_pin(const std::string& host_path);

}  // namespace sb::security::allowlist
