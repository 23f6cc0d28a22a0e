#include "actors/app/admin_token.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>

#include "runtime/core/fs.hpp"
#include "runtime/core/ids.hpp"
#include "runtime/core/text.hpp"

namespace sb::app {

Result<Secret> read_admin_token(const std::string& path) {
  auto content = read_file(path);
  if (!content) return make_error("token.read", "cannot read admin token file " + content.error().message);
  std::string token(trim_right(*content, "\n\r "));
  sodium_memzero(content->data(), content->size());
  if (token.empty()) return make_error("token.empty", "admin token file " + path + " is empty");
  return Secret(std::move(token));
}

Result<TokenFile> ensure_admin_token(const std::string& path) {
  if (sodium_init() < 0) return make_error("token.random", "libsodium failed to initialise");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    std::string token = random_hex(32);
    std::string content = token + "\n";
    AtomicWriteOptions options;
    options.mode = 0600;
    options.replace = false;  // another process may have created it meanwhile: keep theirs
    auto written = write_file_atomic(path, content, options);
    sodium_memzero(content.data(), content.size());
    if (written) return TokenFile{Secret(std::move(token)), true};
    sodium_memzero(token.data(), token.size());
    if (written.error().code != "fs.exists")
      return make_error("token.create", "cannot create admin token file " + path + ": " + written.error().message);
  }
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 0077) != 0)
    return make_error("token.mode", "admin token file " + path + " is readable by group or others; chmod 600 it");
  auto token = read_admin_token(path);
  if (!token) return token.error();
  return TokenFile{std::move(*token), false};
}

}  // namespace sb::app
