#include "runtime/agent/tools/file_tools.hpp"

#include <fcntl.h>

#include "runtime/agent/agent_loop.hpp"
#include "runtime/agent/tools/workspace_path.hpp"

namespace sb::agent {
namespace {

ToolResult error_result(const Error& e) {
  return ToolResult{e.message, true};
}

struct Opened {
  UniqueFd root;
  std::string rel;
};

Result<Opened> open_path(const ToolContext& ctx, const std::string& path) {
  auto p = resolve_tool_path(path, ctx.workspace, ctx.session_dir);
  if (!p) return p.error();
  auto root = open_root(p->root);
  if (!root) return root.error();
  return Opened{std::move(*root), std::move(p->rel)};
}

}  // namespace

bool looks_binary(std::string_view content) {
  return content.substr(0, 8192).find('\0') != std::string_view::npos;
}

Result<std::string> slice_lines(std::string_view content, int64_t offset, int64_t limit, std::size_t max_bytes) {
  if (offset < 1) offset = 1;
  if (limit < 1) limit = kDefaultReadLimit;
  if (content.empty()) return std::string("(empty file)");
  int64_t total = 0;
  for (char c : content) total += c == '\n';
  if (content.back() != '\n') ++total;
  if (offset > total)
    return make_error("tool.bad_arguments",
                      "offset " + std::to_string(offset) + " is past the end (" + std::to_string(total) + " lines)");
  std::size_t pos = 0;
  for (int64_t line = 1; line < offset; ++line) pos = content.find('\n', pos) + 1;
  std::string out;
  int64_t last = offset - 1;
  while (pos < content.size() && last - offset + 1 < limit) {
    std::size_t end = content.find('\n', pos);
    std::size_t next = end == std::string_view::npos ? content.size() : end + 1;
    if (out.size() + (next - pos) > max_bytes) break;
    out.append(content.substr(pos, next - pos));
    pos = next;
    ++last;
  }
  if (last < total) {
    if (!out.empty() && out.back() != '\n') out += '\n';
    if (last < offset) {  // a single line longer than the limit
      out += cap_tool_output(content.substr(pos, content.find('\n', pos) - pos), max_bytes);
      out += "\n[line " + std::to_string(offset) + " is longer than the output limit; use bash to see it whole]";
    } else {
      out += "[... lines " + std::to_string(offset) + "-" + std::to_string(last) + " of " + std::to_string(total) +
             " shown; continue with offset=" + std::to_string(last + 1) + "]";
    }
  }
  return out;
}

Result<std::string> apply_edit(std::string_view content, std::string_view old_string, std::string_view new_string,
                               std::string_view shown) {
  if (old_string.empty()) return make_error("tool.bad_arguments", "old_string is empty");
  std::size_t first = content.find(old_string);
  if (first == std::string_view::npos)
    return make_error("tool.edit_not_found", "old_string not found in " + std::string(shown));
  std::size_t count = 1;
  for (std::size_t p = content.find(old_string, first + old_string.size()); p != std::string_view::npos;
       p = content.find(old_string, p + old_string.size()))
    ++count;
  if (count > 1)
    return make_error("tool.edit_ambiguous", "old_string appears " + std::to_string(count) +
                                                 " times; give more context to make it unique (" + std::string(shown) +
                                                 ")");
  std::string out;
  out.reserve(content.size() - old_string.size() + new_string.size());
  out.append(content.substr(0, first));
  out.append(new_string);
  out.append(content.substr(first + old_string.size()));
  return out;
}

ToolResult read_file_tool(const ToolContext& ctx, const std::string& path, std::optional<int64_t> offset,
                          std::optional<int64_t> limit) {
  auto o = open_path(ctx, path);
  if (!o) return error_result(o.error());
  auto data = read_beneath(o->root.get(), o->rel, kMaxFileToolBytes, path);
  if (!data) return error_result(data.error());
  if (looks_binary(*data))
    return {path + " is a binary file (a NUL byte in its first 8 KiB); use bash (file, xxd, strings) to inspect it",
            true};
  auto text = slice_lines(*data, offset.value_or(1), limit.value_or(kDefaultReadLimit), ctx.output_max_bytes);
  if (!text) return error_result(text.error());
  return {std::move(*text), false};
}

ToolResult write_file_tool(const ToolContext& ctx, const std::string& path, std::string_view content) {
  auto o = open_path(ctx, path);
  if (!o) return error_result(o.error());
  auto st = write_beneath(o->root.get(), o->rel, content, path);
  if (!st) return error_result(st.error());
  return {"wrote " + std::to_string(content.size()) + " bytes to " + path, false};
}

ToolResult edit_file_tool(const ToolContext& ctx, const std::string& path, std::string_view old_string,
                          std::string_view new_string) {
  auto o = open_path(ctx, path);
  if (!o) return error_result(o.error());
  auto data = read_beneath(o->root.get(), o->rel, kMaxFileToolBytes, path);
  if (!data) return error_result(data.error());
  auto edited = apply_edit(*data, old_string, new_string, path);
  if (!edited) return error_result(edited.error());
  auto st = write_beneath(o->root.get(), o->rel, *edited, path);
  if (!st) return error_result(st.error());
  return {"edited " + path + " (1 replacement)", false};
}

}  // namespace sb::agent
