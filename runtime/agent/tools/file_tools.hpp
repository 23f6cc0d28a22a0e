#pragma once
// read_file, write_file, edit_file: the file tools over workspace_path.hpp, each a
// pure core (line slicing, the edit) and a thin I/O shell. Errors are results with
// is_error = true, which the model sees.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/agent/model_protocol.hpp"
#include "runtime/agent/tools/tool_context.hpp"
#include "runtime/core/result.hpp"

namespace sb::agent {

inline constexpr std::size_t kMaxFileToolBytes = 16u << 20;  // read/edit at most this much
inline constexpr int64_t kDefaultReadLimit = 2000;

// Lines [offset, offset+limit) of `content` (offset 1-based), cut at max_bytes, with a
// footer saying where to continue when lines are left. "tool.bad_arguments" for an
// offset past the end. Pure.
Result<std::string> slice_lines(std::string_view content, int64_t offset, int64_t limit, std::size_t max_bytes);
// True when `content` looks binary: a NUL byte in its first 8 KiB. Pure.
bool looks_binary(std::string_view content);
// `content` with the single occurrence of old_string replaced. "tool.edit_not_found",
// "tool.edit_ambiguous" ("appears N times; give more context"). Pure.
Result<std::string> apply_edit(std::string_view content, std::string_view old_string, std::string_view new_string,
                               std::string_view shown);

ToolResult read_file_tool(const ToolContext& ctx, const std::string& path, std::optional<int64_t> offset,
                          std::optional<int64_t> limit);
ToolResult write_file_tool(const ToolContext& ctx, const std::string& path, std::string_view content);
ToolResult edit_file_tool(const ToolContext& ctx, const std::string& path, std::string_view old_string,
                          std::string_view new_string);

}  // namespace sb::agent
