#include "runtime/security/allowlist/pinned_path.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "runtime/core/fs.hpp"

namespace sb::security::allowlist {
namespace {

#ifdef O_PATH
constexpr int kPinFlags = O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC;
#else  // not Linux: no O_PATH; a read-only directory fd pins the same way
constexpr int kPinFlags = O_RDONLY | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC;
#endif

Error errno_error(const char* code, const std::string& what, int err) {
  return make_error(code, what + ": " + std::strerror(err));
}

}  // namespace

Result<std::shared_ptr<const PinnedPath>> PinnedPath::open_directory(const std::string& canonical) {
  if (canonical.empty() || canonical[0] != '/')
    return make_error(rule::kUnresolvable, "not an absolute path: " + canonical);
  UniqueFd fd(::open("/", kPinFlags));
  if (fd.get() < 0) return errno_error(rule::kUnresolvable, "cannot open /", errno);
  size_t pos = 1;
  while (pos < canonical.size()) {
    size_t end = canonical.find('/', pos);
    if (end == std::string::npos) end = canonical.size();
    std::string component = canonical.substr(pos, end - pos);
    pos = end + 1;
    if (component.empty() && pos >= canonical.size()) break;  // one trailing '/'
    if (component.empty() || component == "." || component == "..")
      return make_error(rule::kUnresolvable, "not a canonical path: " + canonical);
    int next = ::openat(fd.get(), component.c_str(), kPinFlags);
    if (next < 0) {
      int err = errno;
      // realpath() saw a directory here a moment ago; a symlink (ELOOP/ENOTDIR with
      // O_NOFOLLOW) or a vanished entry now means someone changed the path under us.
      if (err == ELOOP || err == ENOTDIR || err == ENOENT)
        return errno_error(rule::kChangedDuringCheck,
                           "\"" + component + "\" in " + canonical + " changed while it was checked", err);
      return errno_error(rule::kUnresolvable, "cannot open " + canonical, err);
    }
    fd.reset(next);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(rule::kUnresolvable, "cannot stat " + canonical, errno);
  if (!S_ISDIR(st.st_mode)) return make_error(rule::kNotDirectory, canonical + " is not a directory");
  std::string path = canonical;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return std::shared_ptr<const PinnedPath>(new PinnedPath(
      fd.release(), std::move(path), static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)));
}

PinnedPath::~PinnedPath() {
  if (fd_ >= 0) ::close(fd_);
}

Status PinnedPath::verify_unchanged() const {
  std::unique_ptr<char, decltype(&::free)> now(::realpath(path_.c_str(), nullptr), &::free);
  if (!now) return errno_error("mount.changed", "mount source " + path_ + " no longer resolves", errno);
  if (path_ != now.get())
    return make_error("mount.changed", "mount source " + path_ + " now resolves to " + now.get() +
                                           " (a symlink appeared after it was checked)");
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return errno_error("mount.changed", "cannot stat " + path_, errno);
  if (static_cast<uint64_t>(st.st_dev) != device_ || static_cast<uint64_t>(st.st_ino) != inode_)
    return make_error("mount.changed", "mount source " + path_ + " is no longer the directory that was checked");
  return {};
}

std::string expand_home(const std::string& path) {
  if (path == "~" || path.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + path.substr(1);
  }
  return path;
}

ResolveOutcome resolve_and_pin(const std::string& host_path) {
  auto denied = [](const char* rule_id, std::string reason) {
    return ResolveOutcome{std::nullopt, Verdict{false, false, rule_id, std::move(reason)}};
  };
  const std::string given = expand_home(host_path);
  if (auto v = check_host_path_text(given)) return {std::nullopt, *v};
  std::unique_ptr<char, decltype(&::free)> resolved(::realpath(given.c_str(), nullptr), &::free);
  if (!resolved) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR)
      return denied(rule::kNotFound, given + " does not exist (" + std::strerror(err) + ")");
    return denied(rule::kUnresolvable, "cannot resolve " + given + ": " + std::strerror(err));
  }
  std::string canonical = resolved.get();
  // A symlink may point at a name the text checks would have refused.
  if (auto v = check_host_path_text(canonical)) return {std::nullopt, *v};
  struct stat st {};
  if (::stat(canonical.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
    return denied(rule::kNotDirectory, canonical + " is not a directory (only directories are mounted)");
  auto pinned = PinnedPath::open_directory(canonical);
  if (!pinned) return denied(pinned.error().code.c_str(), pinned.error().message);
  return ResolveOutcome{ResolvedPath{canonical, std::move(*pinned)}, {}};
}

}  // namespace sb::security::allowlist
