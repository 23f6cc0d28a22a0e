#pragma once
// Versioned, forward-only schema migrations, one history per engine with the same version
// numbers. On SQLite the version lives in the database header (PRAGMA user_version), on
// PostgreSQL in the table squadbox_schema; either way it changes atomically with the DDL.
//
// Adding a migration: append an entry to kMigrations in migrations.cpp and bump
// kSchemaVersion, then add the same change to PostgreSQL's history (schema_postgres.cpp):
// both engines carry the same version number. Never edit a migration that has shipped;
// write a new one.
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"
#include "storage/sqlite.hpp"

namespace sb::storage {

// The schema version this build writes and understands.
inline constexpr int kSchemaVersion = 12;

// The SQLite DDL of every migration, oldest first (element i is version i + 1). For
// checks that compare this history with the PostgreSQL schema (schema_postgres.hpp).
std::vector<std::string_view> migration_scripts();

// The schema version: SQLite's PRAGMA user_version (0 for a fresh file), PostgreSQL's
// squadbox_schema.version (0 for an empty schema); -1 if unreadable.
int schema_version(Database& db);

// Brings the database up to kSchemaVersion. No-op on an up-to-date database. A database
// from a newer build is refused with "storage.schema_too_new" naming both versions, and
// left untouched.
// SQLite: one transaction per migration (kMigrations). PostgreSQL: the steps of
// schema_postgres.hpp in one transaction, under an advisory lock per schema, so nodes
// starting together migrate it once.
Status migrate(Database& db);

}  // namespace sb::storage
