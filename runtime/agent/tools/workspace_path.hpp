#pragma once
// Where the file tools may go: relative paths resolve in the workspace; absolute paths
// must lie in the workspace or the session directory (the agent's memory). Resolution
// below a root is the kernel's, openat2(2) with RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS:
// `..` and symlinks may move around inside the root but never out of it.
#include <sys/types.h>

#include <string>
#include <string_view>

#include "runtime/core/fs.hpp"
#include "runtime/core/result.hpp"

namespace sb::agent {

struct ToolPath {
  std::string root;  // the workspace or the session directory
  std::string rel;   // below it; "." for the root itself
  bool operator==(const ToolPath&) const = default;
};

// Pure. "tool.bad_path": empty, NUL byte, or absolute outside both roots.
Result<ToolPath> resolve_tool_path(std::string_view path, std::string_view workspace, std::string_view session_dir);

// The message a file tool gives for errno `err` on `path` (EROFS: "the workspace is
// read-only for this group", EXDEV: leads outside, ...). Pure.
std::string fs_error_text(int err, std::string_view path);

// Errors below carry fs_error_text as message and a code by errno: "tool.not_found"
// (ENOENT), "tool.read_only" (EROFS), "tool.outside" (EXDEV), else "tool.fs".
// O_PATH|O_DIRECTORY of a root.
Result<UniqueFd> open_root(const std::string& root);
// openat2(dir, rel, flags, mode) beneath dir; ENOSYS says the kernel lacks it.
Result<UniqueFd> open_beneath(int dir, const std::string& rel, int flags, mode_t mode = 0, std::string_view shown = {});

// Writes `content` to rel (below root) atomically: a tmp file in the same directory,
// then renameat, all through the directory's fd. The parent must exist; the mode of a
// replaced file is kept (new files: 0644). A symbolic link in the last place is
// replaced by the file, and refused when it leads out of the root or nowhere.
Status write_beneath(int root, const std::string& rel, std::string_view content, std::string_view shown);

// Reads a regular file below root, at most max_bytes ("tool.too_large" beyond).
Result<std::string> read_beneath(int root, const std::string& rel, std::size_t max_bytes, std::string_view shown);

}  // namespace sb::agent
