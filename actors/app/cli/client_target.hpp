#pragma once
// Where a client subcommand finds the running node. Precedence:
//   URL:   --url, SQUADBOX_URL, DATA_DIR/admin.url (written by `serve`), admin.address:port
//   token: --token, SQUADBOX_TOKEN, the token file (admin.token_file or DATA_DIR/admin.token)
#include <map>
#include <string>

#include "runtime/config/config.hpp"
#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"

namespace sb::app::cli {

struct ClientFlags {
  std::string url;    // empty: not given
  std::string token;  // empty: not given
};

struct ClientTarget {
  std::string base_url;  // without trailing '/'
  Secret token;
};

Result<ClientTarget> resolve_client_target(const ClientFlags& flags, const config::Config& config,
                                           const std::map<std::string, std::string>& env);

}  // namespace sb::app::cli
