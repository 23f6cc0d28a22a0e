#pragma once
// The container environment a proxy lease brings (the contract with the agent runner,
// docs/credential-proxy.md). Pure.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/core/secret.hpp"

namespace sb::proxy {

// Where the container sees the lease's socket: the run's IPC directory is mounted at
// /workspace/ipc.
inline constexpr const char* kContainerSocketPath = "/workspace/ipc/proxy.sock";
// The socket's name inside the run's IPC directory on the host.
inline constexpr const char* kSocketFileName = "proxy.sock";

// SQUADBOX_PROXY_{SOCKET,PORT,TOKEN,URL}, plus ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY
// when `routes` (the routes the namespace may use) include one named "anthropic".
std::map<std::string, std::string> container_environment(int64_t container_port, const Secret& token,
                                                         const std::vector<std::string>& routes);

}  // namespace sb::proxy
