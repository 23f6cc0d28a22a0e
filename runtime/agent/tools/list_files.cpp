#include "runtime/agent/tools/list_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>

#include "runtime/agent/tools/workspace_path.hpp"

namespace sb::agent {
namespace {

struct Walk {
  const std::vector<std::string>& pattern;
  std::size_t max_depth;  // components; SIZE_MAX with **
  std::vector<std::string> matches;
  std::size_t visited = 0;
  bool stopped = false;
};

void walk(Walk& w, int dirfd, std::vector<std::string>& comps) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return;
  }
  std::vector<std::pair<std::string, bool>> entries;  // name, is a real directory
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (++w.visited > kMaxVisitedEntries) {
      w.stopped = true;
      break;
    }
    bool dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st {};
      dir = ::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    entries.emplace_back(std::move(name), dir);
  }
  for (auto& [name, dir] : entries) {
    comps.push_back(name);
    if (glob_match(w.pattern, comps)) {
      std::string path;
      for (const auto& c : comps) path += (path.empty() ? "" : "/") + c;
      w.matches.push_back(dir ? path + "/" : path);
    }
    if (dir && comps.size() < w.max_depth && !w.stopped) {
      // O_NOFOLLOW: a directory swapped for a link after readdir is not entered.
      int sub = ::openat(::dirfd(d), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) {
        walk(w, sub, comps);
        ::close(sub);
      }
    }
    comps.pop_back();
  }
  ::closedir(d);
}

}  // namespace

Result<std::vector<std::string>> split_pattern(std::string_view pattern) {
  if (!pattern.empty() && pattern.front() == '/')
    return make_error("tool.bad_arguments", "the pattern must be relative to the workspace");
  std::vector<std::string> out;
  while (!pattern.empty()) {
    std::size_t slash = pattern.find('/');
    std::string_view c = pattern.substr(0, slash);
    pattern = slash == std::string_view::npos ? std::string_view() : pattern.substr(slash + 1);
    if (c.empty() || c == ".") continue;
    if (c == "..") return make_error("tool.bad_arguments", "the pattern may not contain '..'");
    if (c == "**" && !out.empty() && out.back() == "**") continue;
    out.emplace_back(c);
  }
  if (out.empty()) out.emplace_back("*");
  return out;
}

bool glob_match(const std::vector<std::string>& pattern, const std::vector<std::string>& path) {
  // memo[i][j]: pattern[i..] matches path[j..]; filled from the end, O(P*S).
  const std::size_t P = pattern.size(), S = path.size();
  std::vector<std::vector<char>> memo(P + 1, std::vector<char>(S + 1, 0));
  memo[P][S] = 1;
  for (std::size_t i = P; i-- > 0;) {
    for (std::size_t j = S + 1; j-- > 0;) {
      if (pattern[i] == "**") {
        // Zero components, or one more that is not hidden.
        memo[i][j] = memo[i + 1][j] || (j < S && path[j].front() != '.' && memo[i][j + 1]);
      } else {
        memo[i][j] = j < S && memo[i + 1][j + 1] && ::fnmatch(pattern[i].c_str(), path[j].c_str(), FNM_PERIOD) == 0;
      }
    }
  }
  return memo[0][0];
}

ToolResult list_files_tool(const ToolContext& ctx, const std::optional<std::string>& pattern_arg) {
  auto pattern = split_pattern(pattern_arg.value_or("*"));
  if (!pattern) return {pattern.error().message, true};
  auto root = open_root(ctx.workspace);
  if (!root) return {root.error().message, true};
  const bool deep = std::find(pattern->begin(), pattern->end(), "**") != pattern->end();
  Walk w{*pattern, deep ? SIZE_MAX : pattern->size(), {}};
  std::vector<std::string> comps;
  walk(w, root->get(), comps);
  std::sort(w.matches.begin(), w.matches.end());
  if (w.matches.empty())
    return {"no files match " + pattern_arg.value_or("*") + (w.stopped ? " (the walk stopped early)" : ""), false};
  std::string out;
  const std::size_t shown = std::min(w.matches.size(), kMaxListedEntries);
  for (std::size_t i = 0; i < shown; ++i) out += w.matches[i] + "\n";
  if (shown < w.matches.size())
    out += "[... " + std::to_string(shown) + " of " + std::to_string(w.matches.size()) +
           " entries shown; narrow the pattern]\n";
  if (w.stopped)
    out += "[the walk stopped after " + std::to_string(kMaxVisitedEntries) + " entries; narrow the pattern]\n";
  return {std::move(out), false};
}

}  // namespace sb::agent
