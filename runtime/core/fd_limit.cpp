#include "runtime/core/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace sb {

Result<FdLimit> raise_fd_limit(uint64_t ceiling) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return make_error("core.rlimit", std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  const rlim_t target = lim.rlim_max == RLIM_INFINITY ? static_cast<rlim_t>(ceiling)
                                                      : std::min<rlim_t>(lim.rlim_max, static_cast<rlim_t>(ceiling));
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur < target) {
    rlimit want = lim;
    want.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &want) != 0)
      return make_error("core.rlimit", std::string("setrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
    lim.rlim_cur = target;
  }
  return FdLimit{static_cast<uint64_t>(lim.rlim_cur), static_cast<uint64_t>(lim.rlim_max)};
}

size_t fd_reserve(uint64_t soft) {
  return std::max<size_t>(256, static_cast<size_t>(soft / 4));
}

size_t connection_budget(uint64_t soft, size_t configured, size_t reserve) {
  if (soft <= reserve) return 1;
  return std::max<size_t>(1, std::min<size_t>(configured, static_cast<size_t>(soft - reserve)));
}

}  // namespace sb
