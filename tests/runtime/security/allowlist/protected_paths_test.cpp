// What no mount may expose: the database file on SQLite; on PostgreSQL the database is the
// server's, and what lives on this host is its password file.
#include "runtime/security/allowlist/protected_paths.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sb::security::allowlist {
namespace {

bool protects(const std::vector<ProtectedPath>& paths, const std::string& path, const std::string& what) {
  return std::any_of(paths.begin(), paths.end(),
                     [&](const ProtectedPath& p) { return p.path == path && p.what == what; });
}

bool names(const std::vector<ProtectedPath>& paths, const std::string& what) {
  return std::any_of(paths.begin(), paths.end(), [&](const ProtectedPath& p) { return p.what == what; });
}

TEST(ProtectedPaths, OnPostgresThePasswordFileTakesTheDatabaseFilesPlace) {
  config::Config c;
  c.node.data_dir = "/nonexistent-sq/data";
  c.storage.path = "/nonexistent-sq/db/squadbox.db";
  EXPECT_TRUE(protects(protected_paths(c), "/nonexistent-sq/db/squadbox.db", "database"));
  EXPECT_FALSE(names(protected_paths(c), "database_password_file"));

  c.storage.backend = "postgres";
  c.storage.postgres_password_file = "/nonexistent-sq/etc/db.pass";
  c.storage.path = "postgres:conninfo=host=db.internal";  // what serve points it at
  const auto paths = protected_paths(c);
  EXPECT_TRUE(protects(paths, "/nonexistent-sq/etc/db.pass", "database_password_file"));
  EXPECT_FALSE(names(paths, "database")) << "a locator is not a path";
}

}  // namespace
}  // namespace sb::security::allowlist
