#include "storage/database_target.hpp"

#include "storage/sqlite.hpp"

namespace sb::storage {

std::string database_target(const config::Config& c) {
  if (c.storage.backend == "postgres") {
    return postgres_locator(c.storage.postgres_url, c.storage.postgres_schema, c.storage.postgres_password_file);
  }
  return c.storage_path();
}

void use_configured_database(config::Config& c) {
  c.storage.path = database_target(c);
}

}  // namespace sb::storage
