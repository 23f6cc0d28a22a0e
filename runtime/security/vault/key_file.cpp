#include "runtime/security/vault/key_file.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sb::security::vault {
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

Status fsync_dir(const std::string& dir) {
  // Core's message names the step and the directory ("fsync directory /x: ...").
  if (auto st = fsync_directory(dir); !st) return make_error("vault.key_file", "cannot " + st.error().message);
  return {};
}

Result<SecureKey> read_key_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return make_error("vault.key_missing", "vault key file " + path + " does not exist");
    return make_error("vault.key_file", "cannot open vault key file " + path + ": " + errno_text());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return make_error("vault.key_file", "cannot stat vault key file " + path);
  if (!S_ISREG(st.st_mode)) return make_error("vault.key_file", "vault key file " + path + " is not a regular file");
  if ((st.st_mode & 0077) != 0)
    return make_error("vault.key_mode", "vault key file " + path + " has mode " + mode_text(st.st_mode) +
                                            ": group or others may access it; run `chmod 600 " + path + "`");
  // 64 hex digits plus a newline; anything much longer is not a key file.
  char buf[SecureKey::kHexChars + 16];
  size_t len = 0;
  while (len < sizeof buf) {
    ssize_t n = ::read(fd.get(), buf + len, sizeof buf - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      sodium_memzero(buf, sizeof buf);
      return make_error("vault.key_file", "cannot read vault key file " + path + ": " + errno_text());
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  auto key = SecureKey::from_hex(std::string_view(buf, len));
  sodium_memzero(buf, sizeof buf);
  if (!key) return make_error(key.error().code, "vault key file " + path + ": " + key.error().message);
  return key;
}

Status create_key_file(const std::string& path, const SecureKey& key) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return make_error("vault.key_file", "cannot create vault key file " + path + ": " + errno_text());
  // The umask can only remove bits; make sure no group/other bit survives either way.
  (void)::fchmod(fd.get(), 0600);
  char hex[SecureKey::kHexChars + 2];
  key.write_hex(hex);
  hex[SecureKey::kHexChars] = '\n';
  size_t off = 0;
  const size_t total = SecureKey::kHexChars + 1;
  bool ok = true;
  while (off < total) {
    ssize_t n = ::write(fd.get(), hex + off, total - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    off += static_cast<size_t>(n);
  }
  sodium_memzero(hex, sizeof hex);
  if (!ok || ::fsync(fd.get()) != 0) {
    std::string why = errno_text();
    ::unlink(path.c_str());
    return make_error("vault.key_file", "cannot write vault key file " + path + ": " + why);
  }
  ::close(fd.release());
  return fsync_dir(parent_dir(path));
}

}  // namespace sb::security::vault
