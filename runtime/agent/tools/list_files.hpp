#pragma once
// list_files {pattern?}: a glob over the workspace (`*`, `?`, `[...]` per path component
// via fnmatch, `**` for any number of components; a leading dot must be matched
// explicitly), sorted, directories with a trailing '/'. Symbolic links are listed,
// never followed. Default pattern `*`.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/agent/model_protocol.hpp"
#include "runtime/agent/tools/tool_context.hpp"
#include "runtime/core/result.hpp"

namespace sb::agent {

inline constexpr std::size_t kMaxListedEntries = 1000;
inline constexpr std::size_t kMaxVisitedEntries = 100000;

// "a/**/b" -> {"a","**","b"}; "tool.bad_arguments" for an absolute pattern or a `..`
// component. Pure.
Result<std::vector<std::string>> split_pattern(std::string_view pattern);
// Does the path (components) match the pattern (components)? Pure.
bool glob_match(const std::vector<std::string>& pattern, const std::vector<std::string>& path);

ToolResult list_files_tool(const ToolContext& ctx, const std::optional<std::string>& pattern);

}  // namespace sb::agent
