#pragma once
// The paths no mount may ever expose, whatever the allowlist says: the allowlist file
// itself, the data dir (database, vault, runs, sessions), the vault key, the broker's
// own config file, the database (on PostgreSQL: its password file) and the admin token
// (these two may live outside the data dir). A mount that equals, contains or lies inside
// one of them is denied.
#include <string>
#include <vector>

#include "runtime/config/config.hpp"
#include "runtime/security/allowlist/allowlist_rules.hpp"

namespace sb::security::allowlist {

// Canonical form of a path that may not exist yet: the deepest existing ancestor is
// realpath'd and the rest appended. A symlink yields both the link and its target.
std::vector<std::string> protected_forms(const std::string& path);

std::vector<ProtectedPath> protected_paths(const config::Config& config);

}  // namespace sb::security::allowlist
