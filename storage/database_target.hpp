#pragma once
// The database a node's configuration names, as the one string Database::open and every
// Store::open take: the SQLite file (storage.path, or squadbox.db in the data directory),
// or with storage.backend = "postgres" a postgres_locator() built from
// storage.postgres_url, storage.postgres_schema and storage.postgres_password_file.
#include <string>

#include "runtime/config/config.hpp"

namespace sb::storage {

std::string database_target(const config::Config& c);

// Makes c.storage_path() name database_target(c) (it sets storage.path), so that every
// part of the node that opens "the database" opens the configured engine. The composition
// root calls it once, before anything opens the database.
void use_configured_database(config::Config& c);

}  // namespace sb::storage
