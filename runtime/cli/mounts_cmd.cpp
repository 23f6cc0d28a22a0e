#include "runtime/cli/commands.hpp"

namespace sb::cli {

// Placeholder until the mounts commands land (issue 4).
void add_mounts_commands(CLI::App&, CliContext&) {}

}  // namespace sb::cli
