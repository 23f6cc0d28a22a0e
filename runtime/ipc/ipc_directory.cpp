#include "runtime/ipc/ipc_directory.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "runtime/core/time.hpp"
#include "runtime/ipc/ipc_fs.hpp"

namespace sb::ipc {
namespace {

Error sys_error(const std::string& what) {
  return make_error("ipc.layout_failed", what + ": " + std::strerror(errno));
}

// mkdir that accepts an existing real directory but never a symlink or a file.
Status ensure_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return sys_error("mkdir " + path);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return sys_error("stat " + path);
  if (!S_ISDIR(st.st_mode)) return make_error("ipc.layout_failed", path + " is not a directory");
  return {};
}

}  // namespace

Result<IpcDirectory> IpcDirectory::create(std::string root, IpcDirectoryOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return make_error("ipc.layout_failed", "create " + root + ": " + ec.message());
  // The root stays the host's: 0755 so the agent can traverse it but not add entries.
  if (::chmod(root.c_str(), 0755) != 0) return sys_error("chmod " + root);
  for (auto sub : {kInputDir, kMessagesDir, kTasksDir, kErrorsDir}) {
    std::string p = root + "/" + std::string(sub);
    if (auto st = ensure_dir(p, 0700); !st) return st.error();
    if (options.container_uid || options.container_gid) {
      uid_t uid = options.container_uid.value_or(static_cast<uid_t>(-1));
      gid_t gid = options.container_gid.value_or(static_cast<gid_t>(-1));
      if (::fchownat(AT_FDCWD, p.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
        return sys_error("chown " + p + " to the container uid (needs root or a matching uid)");
    }
    if (::chmod(p.c_str(), 0700) != 0) return sys_error("chmod " + p);
  }
  IpcDirectory dir(std::move(root));
  std::string close_path = dir.path(Box::input) + "/" + std::string(kCloseSentinel);
  if (::unlink(close_path.c_str()) != 0 && errno != ENOENT) return sys_error("remove " + close_path);
  return dir;
}

std::string IpcDirectory::path(Box box) const {
  return root_ + "/" + std::string(box_dir(box));
}
std::string IpcDirectory::errors_path() const {
  return root_ + "/" + std::string(kErrorsDir);
}

Result<std::string> IpcDirectory::write_input(std::string text, std::optional<std::string> chat_jid) {
  // The id is the file name's stem: unique in this directory and free to generate.
  InputMessage m{"", std::move(text), std::move(chat_jid)};
  std::string name = namer_.next(static_cast<uint64_t>(now_ms()));
  m.id = name.substr(0, name.size() - kPayloadSuffix.size());
  for (int attempt = 0;; ++attempt) {
    auto st = write_atomic(path(Box::input), name, encode(m));
    if (st) return m.id;
    if (st.error().code != "ipc.exists" || attempt == 1000) return st.error();
    name = namer_.next(static_cast<uint64_t>(now_ms()));
    m.id = name.substr(0, name.size() - kPayloadSuffix.size());
  }
}

Status IpcDirectory::write_input(const InputMessage& message) {
  if (message.id.empty() || message.id.size() > kMaxIdBytes)
    return make_error("ipc.invalid_field", "input id must be 1-128 bytes");
  auto name = write_payload(path(Box::input), namer_, encode(message));
  if (!name) return name.error();
  return {};
}

Status IpcDirectory::close() {
  // Written like a payload (tmp + rename) so the agent never sees a half-made sentinel;
  // its content is irrelevant.
  return write_atomic(path(Box::input), std::string(kCloseSentinel), "", /*replace=*/true);
}

}  // namespace sb::ipc
