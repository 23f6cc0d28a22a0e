#pragma once
// The process's file descriptor limit (M1 of the 2026-12 audit): a broker holds one
// descriptor per connection, container, database connection and outbound request, and
// a soft limit of 1024 runs out long before max_connections does.
#include <cstddef>
#include <cstdint>

#include "runtime/core/result.hpp"

namespace sb {

struct FdLimit {
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard limit (capped at `ceiling`; nr_open bounds
// it anyway) and returns the limits now in force. Error "core.rlimit".
Result<FdLimit> raise_fd_limit(uint64_t ceiling = 1u << 20);

// How many connections a listener may hold under `soft` descriptors while `reserve` stay
// for everything else: min(configured, soft - reserve), at least 1. Pure.
size_t connection_budget(uint64_t soft, size_t configured, size_t reserve);

// The reserve kept for storage, containers, the proxy and outbound requests: a quarter
// of the limit, at least 256.
size_t fd_reserve(uint64_t soft);

}  // namespace sb
