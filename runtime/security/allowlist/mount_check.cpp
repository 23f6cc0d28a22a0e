#include "runtime/security/allowlist/mount_check.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/security/allowlist/mount_table.hpp"

namespace sb::security::allowlist {
namespace {

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == 0 || slash == std::string::npos ? std::string("/") : path.substr(0, slash);
}

// A hostile path may hold NUL or newlines: never echo those into logs or the audit.
std::string printable(const std::string& path) {
  std::string out = path;
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

MountDecision decide(const AllowlistRules& rules, const MountQuery& q) {
  MountDecision d;
  d.host_path = printable(q.host_path);
  d.container_path = q.kind == MountKind::extra ? "/workspace/extra/" + q.name : "/workspace";
  auto deny = [&](const Verdict& v) {
    d.rule = v.rule;
    d.reason = v.reason;
    return d;
  };
  if (q.kind == MountKind::extra) {
    if (auto v = check_container_name(q.name)) {
      d.container_path.clear();  // it is not a path that could be mounted
      return deny(*v);
    }
    if (!rules.unavailable.empty())
      return deny({false, false, rule::kAllowlistUnavailable, "every extra mount is denied: " + rules.unavailable});
  }
  // The path as written is checked too: a blocked name behind a symlink still says
  // what the requester was after.
  const std::string given = expand_home(q.host_path);
  if (auto v = check_host_path_text(given)) return deny(*v);
  if (auto v = check_blocked_components(rules.blocked_patterns, given)) return deny(*v);
  auto resolved = resolve_and_pin(given);
  if (!resolved.resolved) return deny(resolved.denied);
  d.host_path = resolved.resolved->canonical;
  Verdict v = q.kind == MountKind::extra ? decide_extra_mount(rules, d.host_path, q.read_write, q.main_namespace)
                                         : decide_operator_workspace(rules, d.host_path, q.read_write);
  if (!v.allowed) return deny(v);
  const AllowedRoot* root = q.kind == MountKind::extra ? deepest_root(rules, d.host_path) : nullptr;
  auto table = current_mount_table();
  if (!table)
    return deny({false, false, rule::kUnresolvable, table.error().message + " (needed to rule out bind mounts)"});
  if (auto exposed = check_mount_exposure(**table, d.host_path, root ? root->path : parent_of(d.host_path)))
    return deny(*exposed);
  d.allowed = true;
  d.read_write = v.read_write;
  d.rule = v.rule;
  d.reason = v.reason;
  d.pinned = std::move(resolved.resolved->pinned);
  return d;
}

std::string detail_json(const MountDecision& d, const MountQuery& q) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("rule");
  w.String(d.rule.c_str());
  w.Key("group");
  w.String(q.group.c_str());
  w.Key("rw");
  w.Bool(d.read_write);
  w.Key("rw_requested");
  w.Bool(q.read_write);
  w.Key("main_namespace");
  w.Bool(q.main_namespace);
  w.Key("container_path");
  w.String(d.container_path.c_str());
  w.Key("reason");
  w.String(d.reason.c_str(), static_cast<rapidjson::SizeType>(d.reason.size()));
  w.EndObject();
  return buf.GetString();
}

}  // namespace

MountDecision check_mount(const AllowlistRules& rules, const MountQuery& query, const DecisionObservers& observers) {
  MountDecision d = decide(rules, query);
  if (observers.audit)
    observers.audit(
        AuditRecord{"allowlist", d.allowed ? "mount.allowed" : "mount.denied", d.host_path, detail_json(d, query)});
  if (observers.metrics)
    observers.metrics
        ->counter("squadbox_mount_decisions_total", "Mount allowlist decisions by outcome and deciding rule.",
                  {{"decision", d.allowed ? "allowed" : "denied"}, {"rule", d.rule}})
        .inc();
  return d;
}

}  // namespace sb::security::allowlist
