#pragma once
// The admin API's bearer token: 32 random bytes, hex-encoded, in a file of mode 0600
// created at first start. The token is only ever handled as a Secret.
#include <string>

#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"

namespace sb::app {

struct TokenFile {
  Secret token;
  bool created = false;  // true when this call generated the file
};

// Reads the token file, or creates it (O_EXCL, 0600) if it does not exist.
Result<TokenFile> ensure_admin_token(const std::string& path);

// Reads an existing token file (client subcommands).
Result<Secret> read_admin_token(const std::string& path);

}  // namespace sb::app
