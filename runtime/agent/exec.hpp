#pragma once
// Runs one exec-mode turn: the command gets the input message JSON on stdin; its
// stdout (at most max_out bytes) is the reply; stderr is inherited (ends up in the
// agent's log stream). A non-zero exit or a signal is an error.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"

namespace sb::agent {

Result<std::string> run_command(const std::vector<std::string>& argv, std::string_view stdin_data, std::size_t max_out);

}  // namespace sb::agent
