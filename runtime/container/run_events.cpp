#include "runtime/container/run_events.hpp"

namespace sb::container {

std::string_view to_string(RunKind kind) {
  switch (kind) {
    case RunKind::squad: return "squad";
    case RunKind::cowork: return "cowork";
    case RunKind::scheduled: return "scheduled";
  }
  return "squad";
}

std::optional<RunKind> parse_run_kind(std::string_view text) {
  for (auto k : {RunKind::squad, RunKind::cowork, RunKind::scheduled})
    if (to_string(k) == text) return k;
  return std::nullopt;
}

std::string_view to_string(EndReason reason) {
  switch (reason) {
    case EndReason::finished: return "finished";
    case EndReason::stopped: return "stopped";
    case EndReason::hard_timeout: return "hard_timeout";
    case EndReason::idle_timeout: return "idle_timeout";
    case EndReason::gave_up: return "gave_up";
    case EndReason::refused: return "refused";
    case EndReason::unknown_exit: return "unknown_exit";
  }
  return "finished";
}

std::string describe(const RunResult& result) {
  return result.detail.empty() ? std::string(to_string(result.reason)) : result.detail;
}

}  // namespace sb::container
