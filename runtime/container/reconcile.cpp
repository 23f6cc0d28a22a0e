#include "runtime/container/reconcile.hpp"

namespace sb::container {

ReconcileReport reconcile(ContainerRuntime& runtime, const std::string& install_id,
                          const std::set<std::string>& live_runs) {
  ReconcileReport report;
  auto listed = runtime.list({{kLabelInstall, install_id}});
  if (!listed) {
    report.failed.push_back("list: " + listed.error().message);
    return report;
  }
  for (const auto& c : *listed) {
    auto it = c.labels.find(kLabelInstall);
    if (it == c.labels.end() || it->second != install_id) continue;  // belt and braces
    auto run = c.labels.find(kLabelRun);
    const std::string run_id = run == c.labels.end() ? "" : run->second;
    if (!run_id.empty() && live_runs.count(run_id) && c.state == ContainerState::running) {
      report.adopted.push_back(c.id);
      report.adopted_runs.push_back(run_id);
      continue;
    }
    if (auto s = runtime.remove(c.id, true); !s) {
      report.failed.push_back(c.id + ": " + s.error().message);
      continue;
    }
    report.removed.push_back(c.id);
    if (!run_id.empty()) report.removed_runs.push_back(run_id);
  }
  return report;
}

}  // namespace sb::container
