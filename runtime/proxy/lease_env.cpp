#include "runtime/proxy/lease_env.hpp"

#include <algorithm>

namespace sb::proxy {

std::map<std::string, std::string> container_environment(int64_t container_port, const Secret& token,
                                                         const std::vector<std::string>& routes) {
  const std::string url = "http://127.0.0.1:" + std::to_string(container_port);
  std::map<std::string, std::string> env = {
      {"SQUADBOX_PROXY_SOCKET", kContainerSocketPath},
      {"SQUADBOX_PROXY_PORT", std::to_string(container_port)},
      {"SQUADBOX_PROXY_TOKEN", token.reveal()},
      {"SQUADBOX_PROXY_URL", url},
  };
  if (std::find(routes.begin(), routes.end(), "anthropic") != routes.end()) {
    env["ANTHROPIC_BASE_URL"] = url + "/anthropic";
    env["ANTHROPIC_API_KEY"] = token.reveal();
  }
  return env;
}

}  // namespace sb::proxy
