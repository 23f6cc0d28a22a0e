#include "runtime/agent/tools/workspace_path.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

namespace sb::agent {
namespace {

std::string_view strip_trailing_slashes(std::string_view s) {
  while (s.size() > 1 && s.back() == '/') s.remove_suffix(1);
  return s;
}

// `path` inside `root` (both absolute): the part below it, or nullopt.
std::optional<std::string> below(std::string_view path, std::string_view root) {
  root = strip_trailing_slashes(root);
  if (root == "/") return std::string(path.substr(1));
  if (path.compare(0, root.size(), root) != 0) return std::nullopt;
  std::string_view rest = path.substr(root.size());
  if (!rest.empty() && rest.front() != '/') return std::nullopt;  // /workspace2 is not in /workspace
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  return std::string(rest);
}

Error fs_error(int err, std::string_view path) {
  const char* code = err == ENOENT  ? "tool.not_found"
                     : err == EROFS ? "tool.read_only"
                     : err == EXDEV ? "tool.outside"
                                    : "tool.fs";
  return make_error(code, fs_error_text(err, path));
}

}  // namespace

Result<ToolPath> resolve_tool_path(std::string_view path, std::string_view workspace, std::string_view session_dir) {
  if (path.empty()) return make_error("tool.bad_path", "the path is empty");
  if (path.find('\0') != std::string_view::npos) return make_error("tool.bad_path", "the path contains a NUL byte");
  ToolPath out;
  if (path.front() != '/') {
    out = {std::string(workspace), std::string(path)};
  } else if (auto rel = below(path, workspace)) {
    out = {std::string(workspace), *rel};
  } else if (auto rel2 = below(path, session_dir)) {
    out = {std::string(session_dir), *rel2};
  } else {
    return make_error("tool.bad_path", std::string(path) + " is outside the workspace (" + std::string(workspace) +
                                           ") and the session directory (" + std::string(session_dir) + ")");
  }
  if (out.rel.empty()) out.rel = ".";
  return out;
}

std::string fs_error_text(int err, std::string_view path) {
  const std::string p(path);
  switch (err) {
    case EROFS: return "the workspace is read-only for this group (" + p + ")";
    case EXDEV: return p + " leads outside the workspace (via .. or a symbolic link)";
    case ELOOP: return p + ": too many symbolic links, or a link that may not be followed";
    case ENOENT: return p + " does not exist";
    case EACCES:
    case EPERM: return p + ": permission denied";
    case EISDIR: return p + " is a directory";
    case ENOTDIR: return "a part of " + p + " is not a directory";
    case ENOSPC: return "no space left on the device (" + p + ")";
    case EDQUOT: return "disk quota exceeded (" + p + ")";
    case ENAMETOOLONG: return p + ": name too long";
    case ENOSYS: return "this kernel has no openat2(2): the file tools are unavailable";
    default: return p + ": " + std::strerror(err);
  }
}

Result<UniqueFd> open_root(const std::string& root) {
  UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return fs_error(errno, root);
  return fd;
}

Result<UniqueFd> open_beneath(int dir, const std::string& rel, int flags, mode_t mode, std::string_view shown) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd;
  do {
    fd = ::syscall(SYS_openat2, dir, rel.c_str(), &how, sizeof how);
  } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  if (fd < 0) return fs_error(errno, shown.empty() ? std::string_view(rel) : shown);
  return UniqueFd(static_cast<int>(fd));
}

Status write_beneath(int root, const std::string& rel, std::string_view content, std::string_view shown) {
  std::string_view r = rel;
  if (r.empty() || r.back() == '/') return make_error("tool.bad_path", std::string(shown) + " names a directory");
  const std::size_t slash = r.rfind('/');
  const std::string parent = slash == std::string_view::npos ? "." : std::string(r.substr(0, slash));
  const std::string name(slash == std::string_view::npos ? r : r.substr(slash + 1));
  if (name == "." || name == "..") return make_error("tool.bad_path", std::string(shown) + " names a directory");
  auto dir = open_beneath(root, parent.empty() ? "." : parent, O_PATH | O_DIRECTORY, 0, shown);
  if (!dir) {
    if (dir.error().code == "tool.not_found")
      return make_error("tool.fs", "the parent directory of " + std::string(shown) +
                                       " does not exist (create it first, e.g. with bash mkdir -p)");
    return dir.error();
  }
  mode_t mode = 0644;
  struct stat st {};
  if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode)) return fs_error(EISDIR, shown);
    if (S_ISREG(st.st_mode)) mode = st.st_mode & 07777;
    if (S_ISLNK(st.st_mode)) {
      // The link itself is replaced (never written through), but one that leads out
      // of the root, or nowhere, is refused: the model meant its target.
      auto target = open_beneath(root, rel, O_PATH, 0, shown);
      if (!target) return target.error();
    }
  }
  static std::atomic<unsigned> counter{0};
  const std::string tmp =
      "." + name.substr(0, 200) + ".sbtmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
  UniqueFd out(::openat(dir->get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!out.valid()) return fs_error(errno, shown);
  ::fchmod(out.get(), mode);  // exact, whatever the umask
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(out.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::unlinkat(dir->get(), tmp.c_str(), 0);
      return fs_error(err, shown);
    }
    done += static_cast<std::size_t>(n);
  }
  out.reset();
  if (::renameat(dir->get(), tmp.c_str(), dir->get(), name.c_str()) != 0) {
    int err = errno;
    ::unlinkat(dir->get(), tmp.c_str(), 0);
    return fs_error(err, shown);
  }
  return {};
}

Result<std::string> read_beneath(int root, const std::string& rel, std::size_t max_bytes, std::string_view shown) {
  auto fd = open_beneath(root, rel, O_RDONLY | O_NONBLOCK, 0, shown);
  if (!fd) return fd.error();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return fs_error(errno, shown);
  if (S_ISDIR(st.st_mode)) return fs_error(EISDIR, shown);
  if (!S_ISREG(st.st_mode)) return make_error("tool.fs", std::string(shown) + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return make_error("tool.too_large", std::string(shown) + " is larger than " + std::to_string(max_bytes) +
                                            " bytes; use bash (head, sed -n, grep) on it");
  std::string data;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fs_error(errno, shown);
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    if (data.size() > max_bytes)
      return make_error("tool.too_large",
                        std::string(shown) + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  return data;
}

}  // namespace sb::agent
