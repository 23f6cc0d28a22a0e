#pragma once
// The mount allowlist's rules (security layer 2) and the pure decisions over them.
// No I/O here: every path handed in is already absolute and canonical (realpath'd by
// pinned_path.hpp); the store (allowlist_store.hpp) reads the file and resolves roots.
//
// Blocked patterns match by SUBSTRING, case-insensitively (ASCII), against EACH path
// component: ".ssh" blocks "/home/u/.ssh" and "/home/u/.ssh-old"; "secret" blocks
// "/srv/my-Secrets/x". A pattern never spans a '/'.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"

namespace sb::security::allowlist {

struct AllowedRoot {
  std::string path;  // as written in the file; canonical once resolved by the store
  bool allow_read_write = false;
  std::string description;
};

// What the allowlist file says (parse_allowlist), with the default patterns merged in.
struct AllowlistFile {
  std::vector<AllowedRoot> roots;
  std::vector<std::string> blocked_patterns;  // lower-case; defaults first, deduplicated
  bool non_main_read_only = true;             // absent from the file: true (the safe side)
};

// A path no mount may equal, contain or lie inside, whatever the file says.
struct ProtectedPath {
  std::string path;  // canonical
  std::string what;  // "allowlist_file", "data_dir", "vault_key_file", "config_file", ...
};

// Everything a decision needs; immutable once built, shared between threads.
struct AllowlistRules {
  std::vector<AllowedRoot> roots;             // canonical, existing directories, no symlink in them
  std::vector<std::string> blocked_patterns;  // lower-case, defaults included
  bool non_main_read_only = true;
  std::vector<ProtectedPath> protected_paths;
  // Non-empty: the file is missing or invalid, and every allowlisted mount is denied.
  std::string unavailable;
  std::vector<std::string> warnings;  // roots dropped while resolving (missing, symlinked)
  std::string source_file;            // the allowlist file these rules came from
};

// REFERENCE §2: always merged into the file's own patterns.
const std::vector<std::string>& default_blocked_patterns();

// Parses the JSON file. Strict: unknown keys, a relative root, an empty pattern or one
// with '/' are errors (code "allowlist.invalid"), so a typo never silently widens or
// narrows the rules — the store then denies everything until the file is fixed.
Result<AllowlistFile> parse_allowlist(std::string_view json);

// The outcome of one check. `rule` is a short stable id (a metrics label); `reason`
// says what exactly made it, for the operator.
struct Verdict {
  bool allowed = false;
  bool read_write = false;
  std::string rule;
  std::string reason;
};

// Rule ids.
namespace rule {
inline constexpr const char* kAllowedRoot = "allowed_root";
inline constexpr const char* kOperatorChoice = "operator_choice";  // cowork's own workspace
inline constexpr const char* kInvalidContainerPath = "invalid_container_path";
inline constexpr const char* kInvalidHostPath = "invalid_host_path";
inline constexpr const char* kAllowlistUnavailable = "allowlist_unavailable";
inline constexpr const char* kNotFound = "not_found";
inline constexpr const char* kUnresolvable = "unresolvable";
inline constexpr const char* kNotDirectory = "not_directory";
inline constexpr const char* kChangedDuringCheck = "changed_during_check";
inline constexpr const char* kBlockedPattern = "blocked_pattern";
inline constexpr const char* kProtectedPath = "protected_path";
inline constexpr const char* kSubmount = "submount";
inline constexpr const char* kBindMount = "bind_mount";
inline constexpr const char* kNoAllowedRoot = "no_allowed_root";
}  // namespace rule

// The extra mount's name, mounted at /workspace/extra/{name}: ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$
// — relative, one component, no "..", no ':', no leading '-', no control character.
std::optional<Verdict> check_container_name(std::string_view name);

// Text-only checks on a host path before touching the file system: absolute, at most
// PATH_MAX, no control character (NUL, newline), no ':' or ',' (they split docker's
// Binds and Apple's --mount arguments).
std::optional<Verdict> check_host_path_text(std::string_view path);

// The first component of `path` that contains a pattern (substring, case-insensitive).
std::optional<Verdict> check_blocked_components(const std::vector<std::string>& patterns, std::string_view path);

// True if `path` is `root` or lies under it, component-wise ("/a/bc" is not under "/a/b").
bool path_within(std::string_view path, std::string_view root);

// The deepest (most specific) allowed root containing `canonical`, or null.
const AllowedRoot* deepest_root(const AllowlistRules& rules, std::string_view canonical);

// `path` equals, contains or lies inside a protected path.
std::optional<Verdict> check_protected(const std::vector<ProtectedPath>& protected_paths, std::string_view path);

// An extra mount on a canonical path: allowlist available, blocked patterns, protected
// paths, then the deepest allowed root containing it. Read-write only if asked AND the
// root allows it AND (main group OR not nonMainReadOnly); otherwise it is mounted
// read-only (still allowed) and `reason` says why.
Verdict decide_extra_mount(const AllowlistRules& rules, std::string_view canonical, bool want_read_write,
                           bool main_namespace);

// Cowork's workspace, the operator's own choice: no allowed root needed, but blocked
// patterns and protected paths still apply.
Verdict decide_operator_workspace(const AllowlistRules& rules, std::string_view canonical, bool want_read_write);

}  // namespace sb::security::allowlist
