#include "runtime/container/scan/assess.hpp"

namespace sb::container::scan {
namespace {

std::string trim_slash(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// The part of `path` below `prefix` ("" if equal), or nullopt if it is not below.
std::optional<std::string> below(const std::string& path, const std::string& prefix) {
  if (path == prefix) return std::string();
  if (prefix == "/") return path.starts_with("/") ? std::optional<std::string>(path) : std::nullopt;
  if (path.size() > prefix.size() && path.starts_with(prefix) && path[prefix.size()] == '/')
    return path.substr(prefix.size());
  return std::nullopt;
}

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

}  // namespace

std::string_view to_string(FindingKind kind) {
  switch (kind) {
    case FindingKind::unknown_container: return "unknown_container";
    case FindingKind::privileged: return "privileged";
    case FindingKind::capability_added: return "capability_added";
    case FindingKind::host_namespace: return "host_namespace";
    case FindingKind::new_privileges: return "new_privileges";
    case FindingKind::unexpected_mount: return "unexpected_mount";
    case FindingKind::writable_mount: return "writable_mount";
    case FindingKind::past_timeout: return "past_timeout";
  }
  return "unknown";
}

Baseline baseline_for(std::string_view backend) {
  Baseline b;
  b.host_namespaces = {"user"};
  if (backend == "docker") b.host_namespaces.insert("cgroup");
  return b;
}

std::vector<Finding> assess_mounts(const std::vector<container::ObservedMount>& observed,
                                   const std::vector<container::Mount>& approved) {
  std::vector<Finding> out;
  for (const auto& m : observed) {
    const std::string dest = trim_slash(m.destination);
    const std::string source = trim_slash(m.source);
    // The approved mount with the longest container path above this destination.
    const container::Mount* best = nullptr;
    std::string rel;
    for (const auto& a : approved) {
      auto r = below(dest, trim_slash(a.container_path));
      if (r && (!best || a.container_path.size() > best->container_path.size())) {
        best = &a;
        rel = *r;
      }
    }
    const std::string what = source + " -> " + dest;
    if (!best) {
      out.push_back({FindingKind::unexpected_mount, what});
      continue;
    }
    const std::string host = trim_slash(best->host_path);
    const std::string expected = host == "/" ? (rel.empty() ? "/" : rel) : host + rel;
    bool same = source == expected;
    for (const auto& alias : m.aliases) same = same || trim_slash(alias) == expected;
    if (!same) {
      out.push_back({FindingKind::unexpected_mount, what + " (approved: " + expected + ")"});
      continue;
    }
    if (m.read_write && !best->read_write) out.push_back({FindingKind::writable_mount, what});
  }
  return out;
}

std::vector<Finding> assess(const ObservedContainer& observed, const ApprovedContainer* approved,
                            const Baseline& baseline, std::chrono::steady_clock::time_point now,
                            std::chrono::milliseconds timeout_grace) {
  std::vector<Finding> out;
  if (!approved) {
    auto run = observed.labels.find(container::kLabelRun);
    out.push_back({FindingKind::unknown_container,
                   run == observed.labels.end() ? "no run label" : "run " + run->second + " is not live here"});
    return out;
  }
  if (approved->deadline && now > *approved->deadline + timeout_grace) {
    auto late = std::chrono::duration_cast<std::chrono::seconds>(now - *approved->deadline);
    out.push_back({FindingKind::past_timeout, std::to_string(late.count()) + " s past its hard timeout"});
  }
  if (!observed.profile) return out;
  const auto& p = *observed.profile;
  if (p.privileged) {
    out.push_back({FindingKind::privileged, "privileged"});
  } else {
    std::set<std::string> added;
    for (const auto* set : {&p.capabilities, &p.bounding})
      for (const auto& c : *set)
        if (!baseline.capabilities.contains(c)) added.insert(c);
    if (!added.empty()) out.push_back({FindingKind::capability_added, join(added)});
  }
  for (const auto& ns : p.host_namespaces)
    if (!baseline.host_namespaces.contains(ns)) out.push_back({FindingKind::host_namespace, ns});
  if (baseline.no_new_privileges && !p.no_new_privileges)
    out.push_back({FindingKind::new_privileges, "no_new_privileges is off"});
  if (approved->mounts)
    for (auto& f : assess_mounts(p.mounts, *approved->mounts)) out.push_back(std::move(f));
  return out;
}

}  // namespace sb::container::scan
