#include "runtime/core/fs.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace sb {
namespace {

// Reads errno: call it before anything else can change it.
Error sys_error(const char* code, const std::string& what) {
  return make_error(code, what + ": " + std::strerror(errno));
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EIO;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

Status write_file_atomic(const std::string& path, std::string_view content, const AtomicWriteOptions& options) {
  const std::string tmp = path + std::string(kAtomicTmpSuffix);
  // O_EXCL never follows a link, O_NOFOLLOW says so twice.
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd fd(::open(tmp.c_str(), flags, options.mode));
  if (!fd.valid() && errno == EEXIST) {
    // A stale tmp from a crashed writer (or something planted): drop it, try once more.
    ::unlink(tmp.c_str());
    fd.reset(::open(tmp.c_str(), flags, options.mode));
  }
  if (!fd.valid()) return sys_error("fs.write_failed", "open " + tmp);
  const auto fail = [&](const char* code, const std::string& what) {
    Error e = sys_error(code, what);
    ::unlink(tmp.c_str());
    return e;
  };
  // The umask may have narrowed the mode; the reader may be another uid.
  if (::fchmod(fd.get(), options.mode) != 0) return fail("fs.write_failed", "chmod " + tmp);
  if ((options.uid || options.gid) && ::fchown(fd.get(), options.uid.value_or(static_cast<uid_t>(-1)),
                                               options.gid.value_or(static_cast<gid_t>(-1))) != 0)
    return fail("fs.write_failed", "chown " + tmp);
  if (!write_all(fd.get(), content)) return fail("fs.write_failed", "write " + tmp);
  if (options.durable && ::fsync(fd.get()) != 0) return fail("fs.write_failed", "fsync " + tmp);
  fd.reset();
  int rc = options.replace ? ::rename(tmp.c_str(), path.c_str())
                           : ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
  if (rc != 0 && !options.replace && errno == EINVAL)  // a filesystem without RENAME_NOREPLACE
    rc = ::rename(tmp.c_str(), path.c_str());
  if (rc != 0) return fail(errno == EEXIST ? "fs.exists" : "fs.write_failed", "rename " + tmp);
  if (options.durable) {
    if (auto st = fsync_directory(parent_dir(path)); !st) return make_error("fs.write_failed", st.error().message);
  }
  return {};
}

Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode) {
  AtomicWriteOptions options;
  options.mode = mode;
  return write_file_atomic(path, content, options);
}

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return sys_error(errno == ENOENT ? "fs.not_found" : "fs.read_failed", path);
  std::string out;
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[16384];
  while (true) {  // to EOF, not to st_size: /proc files say 0, and a file may grow
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("fs.read_failed", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status fsync_directory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return sys_error("fs.sync_failed", "open directory " + dir);
  if (::fsync(fd.get()) != 0) return sys_error("fs.sync_failed", "fsync directory " + dir);
  return {};
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace sb
