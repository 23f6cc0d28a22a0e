// The squadbox command line. Exit codes: 0 success, 1 runtime failure,
// 2 usage or configuration error.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>
#include <caf/config.hpp>
#include <sqlite3.h>

#include "channels/http/client.hpp"
#include "runtime/boot/serve.hpp"
#include "runtime/cli/client_target.hpp"
#include "runtime/config/config.hpp"
#include "runtime/core/log.hpp"

#ifndef SQUADBOX_VERSION
#define SQUADBOX_VERSION "0.0.0-dev"
#endif

namespace {

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

struct CommonFlags {
  std::string config_file;  // empty: ./squadbox.toml if present, else defaults
  std::string data_dir;     // empty: from config
};

// Loads the configuration the way every subcommand does; prints the error itself.
std::optional<sb::config::Config> load_config(const CommonFlags& flags, bool log_errors = true) {
  std::optional<std::string> file;
  if (!flags.config_file.empty()) file = flags.config_file;
  else if (std::filesystem::exists("squadbox.toml")) file = "squadbox.toml";
  auto config = sb::config::load(file, sb::config::process_environment());
  if (!config) {
    if (log_errors) std::cerr << "squadbox: invalid configuration: " << config.error().message << "\n";
    return std::nullopt;
  }
  if (!flags.data_dir.empty()) config->node.data_dir = flags.data_dir;
  return std::move(*config);
}

bool configure_logging(const sb::config::Config& c) {
  sb::log::Level level;
  sb::log::Format format;
  if (!sb::log::parse_level(c.log.level, level) || !sb::log::parse_format(c.log.format, format))
    return false;
  sb::log::configure(level, format);
  return true;
}

void add_common(CLI::App* cmd, CommonFlags& flags) {
  cmd->add_option("-c,--config", flags.config_file,
                  "TOML configuration file (default: ./squadbox.toml if present)");
  cmd->add_option("-d,--data-dir", flags.data_dir, "Data directory (default: node.data_dir, ./data)")
      ->envname("SQUADBOX_DATA_DIR");
}

int client_get(const CommonFlags& common, const sb::cli::ClientFlags& client, const std::string& path) {
  auto config = load_config(common);
  if (!config) return kExitUsage;
  auto target = sb::cli::resolve_client_target(client, *config, sb::config::process_environment());
  if (!target) {
    std::cerr << "squadbox: " << target.error().message << "\n";
    return kExitUsage;
  }
  auto response = sb::http::request("GET", target->base_url + path,
                                     {{"Authorization", "Bearer " + target->token.reveal()}}, "",
                                     std::chrono::seconds(10));
  if (!response) {
    std::cerr << "squadbox: cannot reach the node at " << target->base_url << ": "
              << response.error().message << "\n";
    return kExitRuntime;
  }
  std::cout << response->body << (response->body.ends_with("\n") ? "" : "\n");
  return response->status / 100 == 2 ? 0 : kExitRuntime;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so every thread inherits the mask and only serve()'s
  // sigwait sees SIGTERM/SIGINT.
  sb::boot::block_shutdown_signals();

  CLI::App app{"squadbox — a self-hosted gateway that runs AI squad agents in isolated\n"
               "containers and connects them to Slack, Discord, WhatsApp and Telegram."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");

  CommonFlags common;
  sb::cli::ClientFlags client;

  auto* serve = app.add_subcommand("serve", "Run a broker node (admin API, actor tree, storage)");
  add_common(serve, common);

  auto* version = app.add_subcommand("version", "Print the version and the library versions");

  auto* config_cmd = app.add_subcommand("config", "Inspect configuration");
  config_cmd->require_subcommand(1);
  std::string check_file;
  auto* check = config_cmd->add_subcommand("check", "Validate a configuration file (exit 2 if invalid)");
  check->add_option("FILE", check_file, "TOML file to check")->required();
  auto* show = config_cmd->add_subcommand("show", "Print the effective configuration as TOML");
  add_common(show, common);
  auto* keys = config_cmd->add_subcommand("keys", "List every configuration key as a Markdown table");

  auto* status = app.add_subcommand("status", "Ask a running node for its status (GET /api/v1/node)");
  add_common(status, common);
  status->add_option("--url", client.url, "Admin URL (default: DATA_DIR/admin.url, then admin.address:port)")
      ->envname("SQUADBOX_URL");
  status->add_option("--token", client.token, "Admin bearer token (default: DATA_DIR/admin.token)")
      ->envname("SQUADBOX_TOKEN");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  if (*version) {
    std::cout << "squadbox " << SQUADBOX_VERSION << " (CAF " << CAF_MAJOR_VERSION << "."
              << CAF_MINOR_VERSION << "." << CAF_PATCH_VERSION << ", SQLite " << sqlite3_libversion()
              << ")\n";
    return 0;
  }
  if (*check) {
    auto config = sb::config::load(check_file, {});
    if (!config) {
      std::cerr << "squadbox: invalid configuration: " << config.error().message << "\n";
      return kExitUsage;
    }
    std::cout << check_file << ": ok\n";
    return 0;
  }
  if (*keys) {
    std::cout << sb::config::markdown_table();
    return 0;
  }
  if (*show) {
    auto config = load_config(common);
    if (!config) return kExitUsage;
    std::cout << sb::config::to_toml(*config);
    return 0;
  }
  if (*status) return client_get(common, client, "/api/v1/node");
  if (*serve) {
    auto config = load_config(common);
    if (!config) return kExitUsage;
    if (!configure_logging(*config)) return kExitUsage;
    return sb::boot::serve(*config, SQUADBOX_VERSION);
  }
  return kExitUsage;
}
