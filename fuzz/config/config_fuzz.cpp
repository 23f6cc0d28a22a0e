// The configuration file (squadbox.toml): toml++ reads it, then every section and key is
// checked against the key table (types, ranges, choices), [proxy.routes] and the
// [channels.PLATFORM.NAME] bot tables are read, and the whole is checked for consistency.
// config::load() takes a path, so each input is written to one scratch file first (on
// /dev/shm when there is one). Property: whatever loads, `config show` (to_toml) prints as
// a file that loads again.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "runtime/config/config.hpp"

namespace {

std::string scratch_path() {
  const char* dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  return std::string(dir) + "/sb-config-fuzz-" + std::to_string(::getpid()) + ".toml";
}

void write_file(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n <= 0) std::abort();
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = [] {
    std::string p = scratch_path();
    std::atexit([] { ::unlink(scratch_path().c_str()); });
    return p;
  }();
  write_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
  const std::map<std::string, std::string> env;  // no SQUADBOX_* overrides: the file alone
  auto config = sb::config::load(path, env);
  if (!config) return 0;
  write_file(path, sb::config::to_toml(*config));
  auto again = sb::config::load(path, env);
  if (!again) {
    std::fprintf(stderr, "config show output does not load again: %s\n", again.error().message.c_str());
    std::abort();
  }
  return 0;
}
