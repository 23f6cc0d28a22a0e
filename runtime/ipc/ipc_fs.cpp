#include "runtime/ipc/ipc_fs.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "runtime/core/time.hpp"

namespace sb::ipc {
namespace {

Error sys_error(const char* code, const std::string& what) {
  return make_error(code, what + ": " + std::strerror(errno));
}

}  // namespace

// The watcher skips `*.tmp`: core's tmp name must be one.
static_assert(kTmpSuffix == kAtomicTmpSuffix);

Status write_atomic(const std::string& dir, const std::string& name, std::string_view content, bool replace,
                    mode_t mode) {
  AtomicWriteOptions options;
  options.mode = mode;
  options.replace = replace;
  options.durable = false;  // the other side reads it at once; a crash ends the run anyway
  auto st = write_file_atomic(dir + "/" + name, content, options);
  if (!st) return make_error(st.error().code == "fs.exists" ? "ipc.exists" : "ipc.write_failed", st.error().message);
  return {};
}

Result<std::string> write_payload(const std::string& dir, Namer& namer, std::string_view content) {
  // A name can only be taken by an earlier run of the same writer that started within
  // the same millisecond; a few attempts always get past it.
  for (int attempt = 0;; ++attempt) {
    std::string name = namer.next(static_cast<uint64_t>(now_ms()));
    auto st = write_atomic(dir, name, content);
    if (st) return name;
    if (st.error().code != "ipc.exists" || attempt == 1000) return st.error();
  }
}

Result<std::string> read_bounded(const std::string& path, std::size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return make_error("ipc.gone", path + " no longer exists");
    return sys_error("ipc.read_error", "open " + path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error("ipc.read_error", "stat " + path);
  if (!S_ISREG(st.st_mode)) return make_error("ipc.read_error", path + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return make_error("ipc.oversized",
                      "file of " + std::to_string(st.st_size) + " bytes exceeds " + std::to_string(max_bytes));
  std::string out;
  out.resize(static_cast<size_t>(st.st_size) + 1);
  size_t got = 0;
  // Read to EOF but never past max_bytes + 1, in case the file grew after fstat.
  while (got < max_bytes + 1) {
    if (got == out.size()) out.resize(std::min(out.size() * 2 + 4096, max_bytes + 1));
    ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("ipc.read_error", "read " + path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  if (got > max_bytes) return make_error("ipc.oversized", "file exceeds " + std::to_string(max_bytes) + " bytes");
  return out;
}

Result<std::vector<std::string>> list_payloads(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return sys_error("ipc.read_error", "opendir " + dir);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (is_payload_name(e->d_name)) names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Status reject_file(const std::string& root, Box box, const std::string& name, std::string_view reason) {
  std::string src = root + "/" + std::string(box_dir(box)) + "/" + name;
  std::string errors = root + "/" + std::string(kErrorsDir);
  std::string dst_name = std::string(box_dir(box)) + "-" + name;
  if (::rename(src.c_str(), (errors + "/" + dst_name).c_str()) != 0) {
    Error e = sys_error("ipc.reject_failed", "move " + src + " to errors/");
    ::unlink(src.c_str());
    return e;
  }
  std::string text(reason);
  text += '\n';
  return write_atomic(errors, dst_name + std::string(kReasonSuffix), text, /*replace=*/true);
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace sb::ipc
