#include "runtime/container/validation.hpp"

#include <regex>

namespace sb::container {
namespace {

Error bad(const char* code, std::string message) {
  return make_error(code, std::move(message));
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == ':' || c == '/' || c == '-';
}

// Docker's reference grammar (distribution/reference), anchored.
const std::regex& image_regex() {
  static const std::regex re(
      R"(^(?:((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?)/)?)"
      R"(([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*))"
      R"((?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?)"
      R"((?:@([a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}))?$)");
  return re;
}

}  // namespace

Status validate_container_name(std::string_view name) {
  if (name.empty()) return bad("validation.name", "container name is empty");
  if (name.front() == '-') return bad("validation.name", "container name may not start with '-'");
  for (char c : name)
    if (!name_char(c)) return bad("validation.name", "container name may contain only [A-Za-z0-9_.:/-]");
  return {};
}

Status validate_image_reference(std::string_view image) {
  if (image.empty()) return bad("validation.image", "image reference is empty");
  if (image.front() == '-') return bad("validation.image", "image reference may not start with '-'");
  if (image.size() > 512) return bad("validation.image", "image reference is too long");
  if (!std::regex_match(image.begin(), image.end(), image_regex()))
    return bad("validation.image",
               "image reference \"" + std::string(image) + "\" is not [registry/]name[:tag][@digest]");
  return {};
}

Status validate_extra_args(const std::vector<std::string>& args) {
  static const std::vector<std::string> forbidden_flags = {"--privileged", "--cap-add", "--security-opt", "--device"};
  // Flags that are only forbidden with the value "host".
  static const std::vector<std::string> host_flags = {"--pid", "--network", "--net", "--userns", "--ipc"};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto eq = a.find('=');
    std::string flag = a.substr(0, eq);
    for (const auto& f : forbidden_flags)
      if (flag == f) return bad("validation.extra_args", "extra runtime argument " + f + " is not allowed");
    for (const auto& f : host_flags) {
      if (flag != f) continue;
      std::string value = eq != std::string::npos ? a.substr(eq + 1) : (i + 1 < args.size() ? args[i + 1] : "");
      if (value == "host") return bad("validation.extra_args", "extra runtime argument " + f + "=host is not allowed");
    }
  }
  return {};
}

Status validate_spec(const ContainerSpec& spec) {
  if (auto s = validate_container_name(spec.name); !s) return s;
  if (auto s = validate_image_reference(spec.image); !s) return s;
  if (auto s = validate_extra_args(spec.extra_args); !s) return s;
  if (spec.uid == 0 || spec.gid == 0) return bad("validation.user", "containers never run as root (uid/gid 0)");
  if (spec.limits.memory_bytes < 0 || spec.limits.pids < 0 || spec.limits.cpu_millis < 0)
    return bad("validation.limits", "resource limits must not be negative");
  static const std::regex env_name("^[A-Za-z_][A-Za-z0-9_]*$");
  for (const auto& [k, v] : spec.env)
    if (!std::regex_match(k, env_name))
      return bad("validation.env", "environment variable name \"" + k + "\" is not valid");
  for (const auto& [k, v] : spec.labels)
    if (k.empty() || k.find('=') != std::string::npos)
      return bad("validation.labels", "label key \"" + k + "\" is not valid");
  return {};
}

}  // namespace sb::container
