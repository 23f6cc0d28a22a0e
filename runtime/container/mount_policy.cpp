#include "runtime/container/mount_policy.hpp"

#include <set>

#include "runtime/security/allowlist/mount_check.hpp"
#include "runtime/security/allowlist/pinned_path.hpp"

namespace sb::container {
namespace {

// A broker directory: canonical and pinned, nothing else to decide.
Result<Mount> broker_mount(const std::string& path, const std::string& what, const std::string& container_path,
                           bool read_write) {
  auto r = security::allowlist::resolve_and_pin(path);
  if (!r.resolved) return make_error("mount.not_found", what + " " + path + ": " + r.denied.reason);
  return Mount{r.resolved->canonical, container_path, read_write, std::move(r.resolved->pinned)};
}

Error denial(const security::allowlist::MountDecision& d, const std::string& what) {
  const std::string code = d.rule == security::allowlist::rule::kInvalidContainerPath ? "mount.invalid_name"
                           : d.rule == security::allowlist::rule::kNotFound           ? "mount.not_found"
                                                                                      : "mount.denied";
  return make_error(code, what + " denied (" + d.rule + "): " + d.reason);
}

// What a run without an allowlist decides with: deny every extra mount, but still
// apply the default blocked patterns to cowork's workspace.
std::shared_ptr<const security::allowlist::AllowlistRules> no_allowlist() {
  static const auto rules = [] {
    auto r = std::make_shared<security::allowlist::AllowlistRules>();
    r->blocked_patterns = security::allowlist::default_blocked_patterns();
    r->unavailable = "no mount allowlist is configured for this run";
    return std::shared_ptr<const security::allowlist::AllowlistRules>(std::move(r));
  }();
  return rules;
}

}  // namespace

bool MountPolicy::valid_extra_name(const std::string& name) {
  return !security::allowlist::check_container_name(name);
}

Result<ValidatedMounts> MountPolicy::validate(const RunMountRequest& request, const MountContext& context) {
  const auto rules = context.allowlist ? context.allowlist : no_allowlist();
  const security::allowlist::DecisionObservers observers{context.audit, context.metrics};
  std::vector<Mount> mounts;
  if (!request.workspace.empty()) {
    if (request.workspace_from_operator) {
      security::allowlist::MountQuery q{security::allowlist::MountKind::operator_workspace,
                                        request.workspace,
                                        "",
                                        request.workspace_read_write,
                                        context.group,
                                        context.main_namespace};
      auto d = security::allowlist::check_mount(*rules, q, observers);
      if (!d.allowed) return denial(d, "workspace " + request.workspace);
      mounts.push_back({d.host_path, "/workspace", d.read_write, std::move(d.pinned)});
    } else {
      auto m = broker_mount(request.workspace, "workspace", "/workspace", request.workspace_read_write);
      if (!m) return m.error();
      mounts.push_back(std::move(*m));
    }
    mounts.back().owner = request.workspace_owner;
  }
  if (!request.ipc_dir.empty()) {
    auto m = broker_mount(request.ipc_dir, "IPC directory", "/workspace/ipc", true);
    if (!m) return m.error();
    mounts.push_back(std::move(*m));
  }
  if (!request.session_dir.empty()) {
    auto m = broker_mount(request.session_dir, "session directory", "/session", true);
    if (!m) return m.error();
    mounts.push_back(std::move(*m));
  }
  std::set<std::string> names;
  for (const auto& extra : request.extras) {
    if (!names.insert(extra.name).second)
      return make_error("mount.duplicate", "extra mount name \"" + extra.name + "\" is used twice");
    security::allowlist::MountQuery q{security::allowlist::MountKind::extra,
                                      extra.host_path,
                                      extra.name,
                                      extra.read_write,
                                      context.group,
                                      context.main_namespace};
    auto d = security::allowlist::check_mount(*rules, q, observers);
    if (!d.allowed) return denial(d, "extra mount " + extra.name + "=" + extra.host_path);
    mounts.push_back({d.host_path, d.container_path, d.read_write, std::move(d.pinned)});
  }
  return ValidatedMounts(std::move(mounts));
}

Status MountPolicy::reverify(const ValidatedMounts& mounts) {
  for (const auto& m : mounts.mounts())
    if (m.pinned)
      if (auto st = m.pinned->verify_unchanged(); !st) return st;
  return {};
}

}  // namespace sb::container
