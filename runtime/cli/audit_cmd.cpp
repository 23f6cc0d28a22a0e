#include "runtime/cli/commands.hpp"

namespace sb::cli {

// Placeholder until the audit commands land (issue 4).
void add_audit_commands(CLI::App&, CliContext&) {}

}  // namespace sb::cli
