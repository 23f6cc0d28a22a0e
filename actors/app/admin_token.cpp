#include "actors/app/admin_token.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sb::app {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<Secret> read_admin_token(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error("token.read", "cannot read admin token file " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = trim(ss.str());
  if (token.empty()) return make_error("token.empty", "admin token file " + path + " is empty");
  return Secret(std::move(token));
}

Result<TokenFile> ensure_admin_token(const std::string& path) {
  if (sodium_init() < 0) return make_error("token.random", "libsodium failed to initialise");
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  char hex[sizeof raw * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  sodium_memzero(raw, sizeof raw);
  std::string content = std::string(hex) + "\n";
  sodium_memzero(hex, sizeof hex);

  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno != EEXIST)
      return make_error("token.create", "cannot create admin token file " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 0077) != 0)
      return make_error("token.mode", "admin token file " + path +
                                          " is readable by group or others; chmod 600 it");
    auto token = read_admin_token(path);
    if (!token) return token.error();
    return TokenFile{std::move(*token), false};
  }
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n <= 0) {
      ::close(fd);
      ::unlink(path.c_str());
      return make_error("token.write", "cannot write admin token file " + path);
    }
    off += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  return TokenFile{Secret(trim(content)), true};
}

}  // namespace sb::app
