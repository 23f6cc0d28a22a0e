#pragma once
// Security layer 3: environment sanitization. A container's environment is built
// from scratch: only approved names pass, with values squadbox chose (or, for names
// the operator lists in container.env_passthrough, the host's value). Nothing else
// of the host environment ever enters a container.
#include <map>
#include <string>
#include <vector>

namespace sb::container {

// Names squadbox itself sets for the agent.
const std::vector<std::string>& approved_env_names();

struct EnvPolicy {
  std::vector<std::string> passthrough;  // host variables the operator allows through

  // `wanted`: what squadbox wants to set; `host`: the host environment. Returns the
  // container environment: approved names from `wanted`, plus passthrough names
  // present in `host`. Everything else is dropped.
  std::map<std::string, std::string> build(const std::map<std::string, std::string>& wanted,
                                           const std::map<std::string, std::string>& host) const;
};

// `container.env_passthrough`: comma-separated names, blanks ignored.
std::vector<std::string> split_env_names(const std::string& csv);

}  // namespace sb::container
