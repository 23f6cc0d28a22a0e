#include "runtime/security/allowlist/mount_table.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "runtime/core/fs.hpp"

namespace sb::security::allowlist {
namespace {

// mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo.
std::string unescape(std::string_view s) {
  auto oct = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && oct(s[i + 1]) && oct(s[i + 2]) && oct(s[i + 3])) {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    if (end > pos) out.push_back(line.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

Verdict deny(const char* rule_id, std::string reason) {
  return Verdict{false, false, rule_id, std::move(reason)};
}

}  // namespace

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
  std::vector<MountEntry> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto f = fields(text.substr(pos, end - pos));
    pos = end + 1;
    // id parent major:minor root mount_point options [optional...] - fstype source super
    if (f.size() < 5 || f[2].find(':') == std::string_view::npos || f[3].empty() || f[3][0] != '/' || f[4].empty() ||
        f[4][0] != '/')
      continue;
    out.push_back(MountEntry{std::string(f[2]), unescape(f[3]), unescape(f[4])});
  }
  return out;
}

std::optional<Verdict> check_mount_exposure(const std::vector<MountEntry>& mounts, std::string_view candidate,
                                            std::string_view boundary) {
  for (const auto& m : mounts)
    if (m.mount_point != candidate && path_within(m.mount_point, candidate))
      return deny(rule::kSubmount, "a file system is mounted at " + m.mount_point + " beneath " +
                                       std::string(candidate) + "; it would be exposed along with it, unchecked");
  for (const auto& m : mounts) {
    if (!path_within(candidate, m.mount_point) || !path_within(m.mount_point, boundary) || m.mount_point == boundary)
      continue;
    bool second_view = m.root != "/";
    for (const auto& other : mounts)
      if (&other != &m && other.device == m.device) second_view = true;
    if (second_view)
      return deny(rule::kBindMount, std::string(candidate) + " is reached through the bind mount at " + m.mount_point +
                                        " (it shows " + m.root + " of device " + m.device +
                                        "): the path does not say what it exposes");
  }
  return std::nullopt;
}

namespace {

// Reads the whole (seq_file) text from the start of an open mountinfo fd.
Result<std::string> slurp_from_start(int fd) {
  if (::lseek(fd, 0, SEEK_SET) != 0) return make_error("mount.table", std::string("lseek: ") + std::strerror(errno));
  std::string text;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return make_error("mount.table", std::string("cannot read /proc/self/mountinfo: ") + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

uint64_t mount_namespace_id() {
  struct stat st {};
  return ::stat("/proc/self/ns/mnt", &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

struct MountTableCache {
  std::mutex mu;
  UniqueFd fd;
  uint64_t ns = 0;
  std::shared_ptr<const std::vector<MountEntry>> table;
};

}  // namespace

Result<std::shared_ptr<const std::vector<MountEntry>>> current_mount_table() {
  static MountTableCache cache;
  std::lock_guard lock(cache.mu);
  const uint64_t ns = mount_namespace_id();
  bool stale = !cache.table || !cache.fd.valid() || ns != cache.ns;
  if (stale) {
    cache.table.reset();
    cache.fd.reset(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
    if (!cache.fd.valid())
      return make_error("mount.table", std::string("cannot open /proc/self/mountinfo: ") + std::strerror(errno));
    cache.ns = ns;
  } else {
    pollfd p{cache.fd.get(), POLLPRI, 0};
    if (::poll(&p, 1, 0) != 0) stale = true;  // a change (POLLPRI|POLLERR), or an error: read again
  }
  if (stale) {
    auto text = slurp_from_start(cache.fd.get());
    if (!text) {
      cache.fd.reset();
      return text.error();
    }
    cache.table = std::make_shared<const std::vector<MountEntry>>(parse_mountinfo(*text));
  }
  return cache.table;
}

}  // namespace sb::security::allowlist
