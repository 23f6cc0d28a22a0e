#include "actors/app/cli/common.hpp"

#include <cctype>
#include <filesystem>
#include <iostream>

#include <rapidjson/document.h>

#include "runtime/core/log.hpp"
#include "runtime/http/client.hpp"

namespace sb::app::cli {

void add_common(CLI::App* cmd, CommonFlags& flags) {
  cmd->add_option("-c,--config", flags.config_file, "TOML configuration file (default: ./squadbox.toml if present)");
  cmd->add_option("-d,--data-dir", flags.data_dir, "Data directory (default: node.data_dir, ./data)")
      ->envname("SQUADBOX_DATA_DIR");
}

void add_client(CLI::App* cmd, CliContext& ctx) {
  add_common(cmd, ctx.common);
  cmd->add_option("--url", ctx.client.url, "Admin URL (default: DATA_DIR/admin.url, then admin.address:port)")
      ->envname("SQUADBOX_URL");
  cmd->add_option("--token", ctx.client.token, "Admin bearer token (default: DATA_DIR/admin.token)")
      ->envname("SQUADBOX_TOKEN");
}

std::optional<config::Config> load_config(const CommonFlags& flags, bool log_errors) {
  std::optional<std::string> file;
  if (!flags.config_file.empty())
    file = flags.config_file;
  else if (std::filesystem::exists("squadbox.toml"))
    file = "squadbox.toml";
  auto config = config::load(file, config::process_environment());
  if (!config) {
    if (log_errors) std::cerr << "squadbox: invalid configuration: " << config.error().message << "\n";
    return std::nullopt;
  }
  if (!flags.data_dir.empty()) config->node.data_dir = flags.data_dir;
  // Absolute from here on: bundles, mounts and child processes see other cwds.
  config->node.data_dir = std::filesystem::absolute(config->node.data_dir).lexically_normal().string();
  while (config->node.data_dir.size() > 1 && config->node.data_dir.back() == '/') config->node.data_dir.pop_back();
  return std::move(*config);
}

bool configure_logging(const config::Config& c) {
  log::Level level;
  log::Format format;
  if (!log::parse_level(c.log.level, level) || !log::parse_format(c.log.format, format)) return false;
  log::configure(level, format);
  return true;
}

std::variant<ClientResponse, int> call_node(const CliContext& ctx, const ClientCall& call) {
  auto config = load_config(ctx.common);
  if (!config) return kExitUsage;
  auto target = resolve_client_target(ctx.client, *config, config::process_environment());
  if (!target) {
    std::cerr << "squadbox: " << target.error().message << "\n";
    return kExitUsage;
  }
  http::Headers headers{{"Authorization", "Bearer " + target->token.reveal()}};
  if (!call.body.empty()) headers.emplace_back("Content-Type", "application/json");
  auto response = http::request(call.method, target->base_url + call.path, headers, call.body, call.timeout);
  if (!response) {
    std::cerr << "squadbox: cannot reach the node at " << target->base_url << ": " << response.error().message << "\n";
    return kExitRuntime;
  }
  return ClientResponse{response->status, response->body};
}

int report_failure(const ClientResponse& r) {
  rapidjson::Document doc;
  doc.Parse(r.body.c_str());
  if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("error") && doc["error"].IsObject() &&
      doc["error"].HasMember("message") && doc["error"]["message"].IsString())
    std::cerr << "squadbox: " << doc["error"]["message"].GetString() << " (HTTP " << r.status << ")\n";
  else
    std::cerr << "squadbox: the node answered HTTP " << r.status << ": " << r.body << "\n";
  return r.status == 400 ? kExitUsage : kExitRuntime;
}

int print_get(const CliContext& ctx, const std::string& path) {
  auto r = call_node(ctx, {"GET", path, "", std::chrono::seconds(10)});
  if (auto* code = std::get_if<int>(&r)) return *code;
  auto& resp = std::get<ClientResponse>(r);
  std::cout << resp.body << (resp.body.ends_with("\n") ? "" : "\n");
  return resp.status / 100 == 2 ? kExitOk : kExitRuntime;
}

std::string percent_encode(std::string_view s, std::string_view keep) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const unsigned char c : s) {
    if (std::isalnum(c) || keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace sb::app::cli
