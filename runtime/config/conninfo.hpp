#pragma once
// The rules for the PostgreSQL settings (storage.postgres_url, storage.postgres_schema),
// shared by the configuration's checks and by `squadbox storage migrate`, which takes the
// same values as options. Defined in config_load.cpp.
#include <string_view>

namespace sb::config {

// True when a libpq connection string (key=value form or a postgres:// URI) carries a
// password: the vault lives in the database, so its password cannot be configured in the
// same place that says where the database is.
bool conninfo_has_password(std::string_view conninfo);

// storage.postgres_schema: 1..63 characters of a-z, 0-9 and '_', not starting with a digit.
bool postgres_schema_name_ok(std::string_view schema);

}  // namespace sb::config
