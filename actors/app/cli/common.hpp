#pragma once
// What every squadbox subcommand shares: the common flags, loading the configuration,
// talking to a running node's admin API, and the exit-code convention. Each command
// family lives in its own `*_cmd.cpp` and registers itself on the CLI11 app through
// `add_*_commands(app, ctx)`: its callbacks set `ctx.exit_code`.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "actors/app/cli/client_target.hpp"
#include "runtime/config/config.hpp"

namespace sb::app::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;  // runtime failure (or a "denied" answer)
inline constexpr int kExitUsage = 2;    // usage or configuration error

struct CommonFlags {
  std::string config_file;  // empty: ./squadbox.toml if present, else defaults
  std::string data_dir;     // empty: from config
};

struct CliContext {
  CommonFlags common;
  ClientFlags client;
  std::optional<int> exit_code;  // set by the callback of the subcommand that ran
};

// -c/--config and -d/--data-dir.
void add_common(CLI::App* cmd, CommonFlags& flags);
// --url/--token for commands that talk to a running node (plus the common flags).
void add_client(CLI::App* cmd, CliContext& ctx);

// Loads the configuration the way every subcommand does (data_dir made absolute);
// prints the error itself.
std::optional<config::Config> load_config(const CommonFlags& flags, bool log_errors = true);
bool configure_logging(const config::Config& c);

struct ClientResponse {
  int status = 0;
  std::string body;
};

// One admin API call to the running node found from ctx (flags, env, DATA_DIR files).
// On failure prints the reason and returns the exit code to use.
struct ClientCall {
  std::string method = "GET";
  std::string path;  // "/api/v1/..."
  std::string body;  // sent as application/json when non-empty
  std::chrono::milliseconds timeout{10000};
};
// Returns the response, or the exit code (kExitUsage / kExitRuntime) after printing why.
std::variant<ClientResponse, int> call_node(const CliContext& ctx, const ClientCall& call);

// GET path and print the body; exit 0 on 2xx.
int print_get(const CliContext& ctx, const std::string& path);

// Prints the API's error message (or the raw body) for a non-2xx answer; returns
// kExitUsage for a 400 (the input was wrong), else kExitRuntime.
int report_failure(const ClientResponse& r);

// Percent-encodes everything but ASCII letters, digits and `keep` (for URL path
// segments and query values built from user input).
std::string percent_encode(std::string_view s, std::string_view keep = "-_.");

}  // namespace sb::app::cli
