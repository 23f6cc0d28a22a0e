#include "runtime/container/mount_policy.hpp"

#include <stdlib.h>

#include <memory>
#include <set>

namespace sb::container {
namespace {

Result<std::string> canonical(const std::string& path, const std::string& what) {
  std::unique_ptr<char, decltype(&::free)> resolved(::realpath(path.c_str(), nullptr), &::free);
  if (!resolved)
    return make_error("mount.not_found", what + " " + path + " does not exist or is not accessible");
  return std::string(resolved.get());
}

}  // namespace

bool MountPolicy::valid_extra_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name[0])) return false;
  for (char c : name)
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

Result<ValidatedMounts> MountPolicy::validate(const RunMountRequest& request) {
  std::vector<Mount> mounts;
  if (!request.workspace.empty()) {
    auto host = canonical(request.workspace, "workspace");
    if (!host) return host.error();
    mounts.push_back({*host, "/workspace", request.workspace_read_write});
  }
  if (!request.ipc_dir.empty()) {
    auto host = canonical(request.ipc_dir, "IPC directory");
    if (!host) return host.error();
    mounts.push_back({*host, "/workspace/ipc", true});
  }
  std::set<std::string> names;
  for (const auto& extra : request.extras) {
    if (!valid_extra_name(extra.name))
      return make_error("mount.invalid_name",
                        "extra mount name \"" + extra.name +
                            "\" must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63} (no '/', ':' or '..')");
    if (!names.insert(extra.name).second)
      return make_error("mount.duplicate", "extra mount name \"" + extra.name + "\" is used twice");
    auto host = canonical(extra.host_path, "extra mount " + extra.name + ":");
    if (!host) return host.error();
    mounts.push_back({*host, "/workspace/extra/" + extra.name, extra.read_write});
  }
  return ValidatedMounts(std::move(mounts));
}

}  // namespace sb::container
