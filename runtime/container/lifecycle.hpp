#pragma once
// The container lifecycle as a pure state machine (DESIGN.md "Container lifecycle"):
//
//   pending -> preparing -> starting -> running <-> idle -> stopping -> exited
//   failed -> backoff -> starting          ... failed -> dead (restart budget spent)
//
// next_state() is the whole transition table; the ContainerSupervisor actor only
// feeds it events and performs the side effects of the state it lands in.
#include <optional>
#include <string_view>

namespace sb::container {

enum class RunState { pending, preparing, starting, running, idle, stopping, exited, failed, backoff, dead };

enum class RunEvent {
  prepare,     // begin: create the run directory, validate mounts
  prepared,    // ready to create + start a container
  started,     // the container runs
  turn_begin,  // an input was handed to the agent
  turn_done,   // the agent finished every handed-out input
  stop,        // stop requested (operator, close, hard or idle timeout)
  exited,      // the container exited on its own, cleanly, with no turn in progress
  crashed,     // the container exited unexpectedly (non-zero, OOM, or mid-turn)
  failed,      // an error before the container ran (image, runtime)
  retry,       // the restart budget allows another attempt
  retry_due,   // the backoff delay elapsed
  give_up,     // the restart budget is spent
};

std::optional<RunState> next_state(RunState from, RunEvent event);

bool is_terminal(RunState s);      // exited, dead
bool container_alive(RunState s);  // starting, running, idle, stopping
std::string_view to_string(RunState s);
std::string_view to_string(RunEvent e);
std::optional<RunState> parse_run_state(std::string_view s);

}  // namespace sb::container
