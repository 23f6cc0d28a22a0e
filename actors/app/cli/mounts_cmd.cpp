// `squadbox mounts check PATH [--name N] [--group G] [--rw] [--main] [--workspace]`:
// what the mount allowlist would decide for PATH, and the rule that decided it. Reads
// the allowlist file named by the configuration; needs no running node. A dry run:
// nothing is audited or counted.
#include <iostream>
#include <memory>

#include "actors/app/cli/commands.hpp"
#include "runtime/security/allowlist/allowlist_store.hpp"
#include "runtime/security/allowlist/mount_check.hpp"
#include "runtime/security/allowlist/protected_paths.hpp"

namespace sb::app::cli {
namespace {

struct CheckOptions {
  std::string path;
  std::string name;  // empty: the directory's own name, or "extra" if that is not a valid name
  std::string group;
  bool read_write = false;
  bool main_namespace = false;
  bool workspace = false;
};

std::string default_name(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  std::string base = p.substr(p.find_last_of('/') == std::string::npos ? 0 : p.find_last_of('/') + 1);
  return security::allowlist::check_container_name(base) ? "extra" : base;
}

int run_check(const CliContext& ctx, const CheckOptions& o) {
  auto config = load_config(ctx.common);
  if (!config) return kExitUsage;
  const auto rules =
      security::allowlist::load_allowlist(config->allowlist_path(), security::allowlist::protected_paths(*config));
  for (const auto& w : rules.warnings) std::cerr << "squadbox: warning: " << w << "\n";
  security::allowlist::MountQuery q;
  q.kind = o.workspace ? security::allowlist::MountKind::operator_workspace : security::allowlist::MountKind::extra;
  q.host_path = o.path;
  q.name = o.name.empty() ? default_name(o.path) : o.name;
  q.read_write = o.read_write;
  q.group = o.group;
  q.main_namespace = o.main_namespace;
  const auto d = security::allowlist::check_mount(rules, q);
  if (d.allowed) {
    std::cout << "allowed: " << d.host_path << " -> " << d.container_path
              << (d.read_write ? " (read-write)" : " (read-only)") << "\n";
  } else {
    std::cout << "denied: " << d.host_path << "\n";
  }
  std::cout << "  rule: " << d.rule << "\n  why: " << d.reason << "\n  allowlist: " << rules.source_file
            << (rules.unavailable.empty() ? "" : " (unavailable)") << "\n";
  return d.allowed ? kExitOk : kExitRuntime;
}

}  // namespace

void add_mounts_commands(CLI::App& app, CliContext& ctx) {
  auto* mounts = app.add_subcommand("mounts", "Mount allowlist (security layer 2)");
  mounts->require_subcommand(1);
  auto opts = std::make_shared<CheckOptions>();
  auto* check = mounts->add_subcommand(
      "check", "Show what the allowlist decides for a host path, and why (exit 0 allowed, 1 denied)");
  add_common(check, ctx.common);
  check->add_option("PATH", opts->path, "Host path to check (~ is expanded)")->required();
  check->add_option("--name", opts->name,
                    "Extra mount name, mounted at /workspace/extra/NAME (default: the directory's name)");
  check->add_option("--group", opts->group, "Squad group (namespace) asking; recorded in the answer only");
  check->add_flag("--rw", opts->read_write, "Ask for read-write");
  check->add_flag("--main", opts->main_namespace,
                  "The group is the main group (lifts nonMainReadOnly); namespaces do not say so yet");
  check->add_flag(
      "--workspace", opts->workspace,
      "Check PATH as cowork's workspace (the operator's choice: blocked patterns and protected paths only)");
  check->callback([&ctx, opts] { ctx.exit_code = run_check(ctx, *opts); });
}

}  // namespace sb::app::cli
