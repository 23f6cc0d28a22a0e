#include "runtime/container/lifecycle.hpp"

#include <array>

namespace sb::container {

std::optional<RunState> next_state(RunState from, RunEvent ev) {
  using S = RunState;
  using E = RunEvent;
  switch (from) {
    case S::pending:
      if (ev == E::prepare) return S::preparing;
      if (ev == E::stop) return S::exited;
      if (ev == E::failed) return S::failed;
      break;
    case S::preparing:
      if (ev == E::prepared) return S::starting;
      if (ev == E::failed) return S::failed;
      if (ev == E::stop) return S::exited;
      break;
    case S::starting:
      if (ev == E::started) return S::idle;
      if (ev == E::failed || ev == E::crashed) return S::failed;
      if (ev == E::stop) return S::stopping;
      break;
    case S::running:
      if (ev == E::turn_done) return S::idle;
      if (ev == E::turn_begin) return S::running;
      if (ev == E::stop) return S::stopping;
      if (ev == E::crashed || ev == E::exited) return S::failed;  // exit mid-turn is a crash
      break;
    case S::idle:
      if (ev == E::turn_begin) return S::running;
      if (ev == E::turn_done) return S::idle;
      if (ev == E::stop) return S::stopping;
      if (ev == E::exited) return S::exited;
      if (ev == E::crashed) return S::failed;
      break;
    case S::stopping:
      // Whatever way it ends once we asked it to stop, it is a stop, not a crash.
      if (ev == E::exited || ev == E::crashed) return S::exited;
      if (ev == E::turn_done || ev == E::turn_begin || ev == E::stop) return S::stopping;
      break;
    case S::failed:
      if (ev == E::retry) return S::backoff;
      if (ev == E::give_up) return S::dead;
      if (ev == E::stop) return S::exited;
      break;
    case S::backoff:
      if (ev == E::retry_due) return S::starting;
      if (ev == E::stop) return S::exited;
      break;
    case S::exited:
    case S::dead: break;
  }
  return std::nullopt;
}

bool is_terminal(RunState s) {
  return s == RunState::exited || s == RunState::dead;
}

bool container_alive(RunState s) {
  return s == RunState::starting || s == RunState::running || s == RunState::idle || s == RunState::stopping;
}

namespace {
constexpr std::array<std::string_view, 10> kStateNames = {"pending",  "preparing", "starting", "running", "idle",
                                                          "stopping", "exited",    "failed",   "backoff", "dead"};
constexpr std::array<std::string_view, 12> kEventNames = {"prepare",   "prepared", "started",   "turn_begin",
                                                          "turn_done", "stop",     "exited",    "crashed",
                                                          "failed",    "retry",    "retry_due", "give_up"};
}  // namespace

std::string_view to_string(RunState s) {
  return kStateNames[static_cast<size_t>(s)];
}
std::string_view to_string(RunEvent e) {
  return kEventNames[static_cast<size_t>(e)];
}

std::optional<RunState> parse_run_state(std::string_view s) {
  for (size_t i = 0; i < kStateNames.size(); ++i)
    if (kStateNames[i] == s) return static_cast<RunState>(i);
  return std::nullopt;
}

}  // namespace sb::container
