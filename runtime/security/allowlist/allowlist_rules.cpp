#include "runtime/security/allowlist/allowlist_rules.hpp"

#include <limits.h>

#include <algorithm>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

namespace sb::security::allowlist {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool control_char(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

Verdict deny(const char* rule_id, std::string reason) {
  return Verdict{false, false, rule_id, std::move(reason)};
}

Error invalid(std::string what) {
  return make_error("allowlist.invalid", std::move(what));
}

void add_pattern(std::vector<std::string>& out, std::string_view p) {
  std::string l = to_lower(p);
  if (std::find(out.begin(), out.end(), l) == out.end()) out.push_back(std::move(l));
}

}  // namespace

const std::vector<std::string>& default_blocked_patterns() {
  static const std::vector<std::string> patterns = {
      ".ssh", ".gnupg", ".gpg",   ".aws",    ".azure", ".gcloud",    ".kube",       ".docker", "credentials",
      ".env", ".netrc", ".npmrc", ".pypirc", "id_rsa", "id_ed25519", "private_key", ".secret"};
  return patterns;
}

Result<AllowlistFile> parse_allowlist(std::string_view json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError())
    return invalid(std::string("not JSON: ") + rapidjson::GetParseError_En(d.GetParseError()) + " at offset " +
                   std::to_string(d.GetErrorOffset()));
  if (!d.IsObject()) return invalid("the top level must be an object");
  AllowlistFile out;
  for (const auto& p : default_blocked_patterns()) add_pattern(out.blocked_patterns, p);
  bool have_roots = false;
  for (const auto& m : d.GetObject()) {
    std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (key == "allowedRoots") {
      if (!m.value.IsArray()) return invalid("allowedRoots must be an array");
      have_roots = true;
      size_t index = 0;
      for (const auto& r : m.value.GetArray()) {
        const std::string where = "allowedRoots[" + std::to_string(index++) + "]";
        if (!r.IsObject()) return invalid(where + " must be an object");
        AllowedRoot root;
        bool have_path = false;
        for (const auto& f : r.GetObject()) {
          std::string_view k(f.name.GetString(), f.name.GetStringLength());
          if (k == "path") {
            if (!f.value.IsString()) return invalid(where + ".path must be a string");
            root.path.assign(f.value.GetString(), f.value.GetStringLength());
            have_path = true;
          } else if (k == "allowReadWrite") {
            if (!f.value.IsBool()) return invalid(where + ".allowReadWrite must be true or false");
            root.allow_read_write = f.value.GetBool();
          } else if (k == "description") {
            if (!f.value.IsString()) return invalid(where + ".description must be a string");
            root.description.assign(f.value.GetString(), f.value.GetStringLength());
          } else {
            return invalid(where + ": unknown key \"" + std::string(k) + "\"");
          }
        }
        if (!have_path || root.path.empty()) return invalid(where + ".path is required");
        if (root.path.find('\0') != std::string::npos || std::any_of(root.path.begin(), root.path.end(), control_char))
          return invalid(where + ".path contains a control character");
        if (root.path[0] != '/' && root.path != "~" && !root.path.starts_with("~/"))
          return invalid(where + ".path must be absolute or start with ~/: \"" + root.path + "\"");
        out.roots.push_back(std::move(root));
      }
    } else if (key == "blockedPatterns") {
      if (!m.value.IsArray()) return invalid("blockedPatterns must be an array of strings");
      for (const auto& p : m.value.GetArray()) {
        if (!p.IsString()) return invalid("blockedPatterns must be an array of strings");
        std::string_view s(p.GetString(), p.GetStringLength());
        // An empty pattern would match every component; one with '/' could match none.
        if (s.empty()) return invalid("blockedPatterns may not contain an empty pattern");
        if (s.find('/') != std::string_view::npos || s.find('\0') != std::string_view::npos)
          return invalid("blocked pattern \"" + std::string(s) +
                         "\" may not contain '/': patterns match one component");
        add_pattern(out.blocked_patterns, s);
      }
    } else if (key == "nonMainReadOnly") {
      if (!m.value.IsBool()) return invalid("nonMainReadOnly must be true or false");
      out.non_main_read_only = m.value.GetBool();
    } else {
      return invalid("unknown key \"" + std::string(key) +
                     "\" (expected allowedRoots, blockedPatterns, nonMainReadOnly)");
    }
  }
  if (!have_roots) return invalid("allowedRoots is required (an empty array allows no extra mount)");
  return out;
}

std::optional<Verdict> check_container_name(std::string_view name) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  std::string shown;
  for (char c : name) shown += control_char(c) ? '?' : c;
  auto bad = [&](const std::string& why) {
    return deny(rule::kInvalidContainerPath,
                "extra mount name \"" + shown + "\" " + why + " (it must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63})");
  };
  if (name.empty()) return bad("is empty");
  if (name.size() > 64) return bad("is longer than 64 characters");
  if (name == "." || name == "..") return bad("is not a directory name");
  if (!alnum(name[0])) return bad("must start with a letter or digit (no '-', '.', '/')");
  for (char c : name)
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return bad("contains a character other than A-Za-z0-9_.-");
  return std::nullopt;
}

std::optional<Verdict> check_host_path_text(std::string_view path) {
  if (path.empty()) return deny(rule::kInvalidHostPath, "the host path is empty");
  for (char c : path)
    if (control_char(c))
      return deny(rule::kInvalidHostPath, "the host path contains a control character (NUL, newline, ...)");
  if (path[0] != '/')
    return deny(rule::kInvalidHostPath, "the host path \"" + std::string(path) + "\" is not absolute");
  if (path.size() >= PATH_MAX)
    return deny(rule::kInvalidHostPath, "the host path is longer than " + std::to_string(PATH_MAX - 1) + " bytes");
  for (char c : {':', ','})
    if (path.find(c) != std::string_view::npos)
      return deny(rule::kInvalidHostPath, std::string("the host path contains '") + c +
                                              "', which container runtimes read as a separator: " + std::string(path));
  return std::nullopt;
}

std::optional<Verdict> check_blocked_components(const std::vector<std::string>& patterns, std::string_view path) {
  size_t pos = 0;
  std::string lowered;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view component = path.substr(pos, end - pos);
    lowered.assign(component);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), lower);
    if (!component.empty())
      for (const auto& p : patterns)  // stored lower-case
        if (lowered.find(p) != std::string::npos)
          return deny(rule::kBlockedPattern, "component \"" + std::string(component) + "\" of " + std::string(path) +
                                                 " matches blocked pattern \"" + p + "\"");
    pos = end + 1;
  }
  return std::nullopt;
}

bool path_within(std::string_view path, std::string_view root) {
  while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (root == "/") return !path.empty() && path[0] == '/';
  if (!path.starts_with(root)) return false;
  return path.size() == root.size() || path[root.size()] == '/';
}

const AllowedRoot* deepest_root(const AllowlistRules& rules, std::string_view canonical) {
  const AllowedRoot* best = nullptr;
  for (const auto& r : rules.roots)
    if (path_within(canonical, r.path) && (!best || r.path.size() > best->path.size())) best = &r;
  return best;
}

std::optional<Verdict> check_protected(const std::vector<ProtectedPath>& protected_paths, std::string_view path) {
  for (const auto& p : protected_paths) {
    if (p.path.empty()) continue;
    std::string what = p.what;  // "data_dir" -> "data dir"
    std::replace(what.begin(), what.end(), '_', ' ');
    const bool same = path_within(p.path, path) && path_within(path, p.path);
    if (path_within(p.path, path))
      return deny(rule::kProtectedPath, std::string(path) + (same ? " is " : " contains ") + "the " + what + " (" +
                                            p.path + "), which is never mountable");
    if (path_within(path, p.path))
      return deny(rule::kProtectedPath,
                  std::string(path) + " lies inside the " + what + " (" + p.path + "), which is never mountable");
  }
  return std::nullopt;
}

Verdict decide_extra_mount(const AllowlistRules& rules, std::string_view canonical, bool want_read_write,
                           bool main_namespace) {
  if (!rules.unavailable.empty())
    return deny(rule::kAllowlistUnavailable, "every extra mount is denied: " + rules.unavailable);
  if (auto v = check_blocked_components(rules.blocked_patterns, canonical)) return *v;
  if (auto v = check_protected(rules.protected_paths, canonical)) return *v;
  const AllowedRoot* best = deepest_root(rules, canonical);
  if (!best)
    return deny(rule::kNoAllowedRoot,
                std::string(canonical) + " is not under any allowed root of " +
                    (rules.source_file.empty() ? std::string("the allowlist") : rules.source_file));
  Verdict v{true, false, rule::kAllowedRoot, "under allowed root " + best->path};
  if (!best->description.empty()) v.reason += " (" + best->description + ")";
  if (want_read_write) {
    if (!best->allow_read_write)
      v.reason += "; read-only: the root does not allow read-write";
    else if (!main_namespace && rules.non_main_read_only)
      v.reason += "; read-only: nonMainReadOnly and not the main group";
    else
      v.read_write = true;
  }
  v.reason += v.read_write ? "; read-write" : (want_read_write ? "" : "; read-only");
  return v;
}

Verdict decide_operator_workspace(const AllowlistRules& rules, std::string_view canonical, bool want_read_write) {
  if (auto v = check_blocked_components(rules.blocked_patterns, canonical)) return *v;
  if (auto v = check_protected(rules.protected_paths, canonical)) return *v;
  return Verdict{true, want_read_write, rule::kOperatorChoice,
                 "the operator's own workspace (blocked patterns and protected paths checked)"};
}

}  // namespace sb::security::allowlist
