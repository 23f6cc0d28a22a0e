#include "runtime/cli/commands.hpp"

namespace sb::cli {

// Placeholder until the secret commands land (issue 4).
void add_secret_commands(CLI::App&, CliContext&) {}

}  // namespace sb::cli
