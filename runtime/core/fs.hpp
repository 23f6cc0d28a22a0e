#pragma once
// The one copy of the small POSIX file helpers: an owning fd, the atomic file write
// (tmp + rename) and a whole-file read. The static in-container agent compiles fs.cpp
// too (runtime/ipc/CMakeLists.txt, sb_runtime_ipc_wire): no fmt and no libsodium here.
#include <sys/types.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "runtime/core/result.hpp"

namespace sb {

// Owns one file descriptor (a file, socket, pipe end, pidfd, inotify or eventfd);
// closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// write_file_atomic's tmp is `path` + this (IPC readers skip such names).
inline constexpr std::string_view kAtomicTmpSuffix = ".tmp";

struct AtomicWriteOptions {
  mode_t mode = 0600;  // exact: set with fchmod, whatever the umask
  // false: an existing `path` is never overwritten (renameat2 RENAME_NOREPLACE; on a
  // filesystem without it, a plain rename) and the error code is "fs.exists".
  bool replace = true;
  // fsync the file before the rename and its directory after it, so the new content
  // survives a power loss. Off for files nobody needs after a crash (IPC payloads).
  bool durable = true;
  // fchown the tmp before the rename (needs root); unset leaves that id as it is.
  std::optional<uid_t> uid{};
  std::optional<gid_t> gid{};
};

// Writes `content` to `path` so that a reader sees the old file or the whole new one,
// never a part: it writes `path.tmp` (O_CREAT|O_EXCL|O_NOFOLLOW, so it never writes
// through a planted link; a stale tmp or link left there is removed and the open tried
// once more) and renames it over `path`. On failure the tmp is removed and `path` is
// untouched (except when the directory fsync after the rename fails: the new content is
// then in place, maybe not yet durable). Error codes: "fs.exists" (replace == false),
// "fs.write_failed"; messages name the step and the file ("open /x/y.tmp: Permission denied").
Status write_file_atomic(const std::string& path, std::string_view content, const AtomicWriteOptions& options);
// The same, durable (file and directory fsync'd), replacing `path`, with this mode.
Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode);

// The whole content of a file (following links; also /proc files, whose size is 0).
// Error codes: "fs.not_found" (ENOENT), "fs.read_failed"; the message is
// "PATH: reason", so callers put their own words in front.
Result<std::string> read_file(const std::string& path);

// fsync of a directory, so that a create, rename or unlink in it is durable.
// Error code "fs.sync_failed"; the message is "open directory DIR: reason" or
// "fsync directory DIR: reason".
Status fsync_directory(const std::string& dir);

// "a/b/c" -> "a/b", "/c" -> "/", "c" -> ".".
std::string parent_dir(const std::string& path);

}  // namespace sb
