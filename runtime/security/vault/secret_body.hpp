#pragma once
// The body of PUT /api/v1/container/secrets/{name}, decoded without I/O: the admin route
// (actors/app/admin/secrets_routes) and the fuzz target call the same function.
#include <string_view>

#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"

namespace sb::security::vault {

// The value of {"value":"..."}: a non-empty string of at most kMaxSecretBytes; other
// members are ignored. Errors name the field ("invalid_json", "invalid_field").
Result<Secret> parse_secret_body(std::string_view body);

}  // namespace sb::security::vault
