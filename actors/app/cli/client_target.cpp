#include "actors/app/cli/client_target.hpp"

#include <fstream>

#include "actors/app/admin_token.hpp"

namespace sb::app::cli {
namespace {

std::string env_or(const std::map<std::string, std::string>& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (in) std::getline(in, line);
  return line;
}

}  // namespace

Result<ClientTarget> resolve_client_target(const ClientFlags& flags, const config::Config& config,
                                           const std::map<std::string, std::string>& env) {
  ClientTarget out;
  out.base_url = flags.url;
  if (out.base_url.empty()) out.base_url = env_or(env, "SQUADBOX_URL");
  if (out.base_url.empty()) out.base_url = first_line(config.node.data_dir + "/admin.url");
  if (out.base_url.empty()) {
    const auto& a = config.admin;
    std::string host = a.address.find(':') != std::string::npos ? "[" + a.address + "]" : a.address;
    out.base_url = "http://" + host + ":" + std::to_string(a.port);
  }
  while (!out.base_url.empty() && out.base_url.back() == '/') out.base_url.pop_back();

  std::string token = flags.token;
  if (token.empty()) token = env_or(env, "SQUADBOX_TOKEN");
  if (!token.empty()) {
    out.token = Secret(token);
  } else {
    auto from_file = app::read_admin_token(config.admin_token_path());
    if (!from_file)
      return make_error("cli.no_token",
                        from_file.error().message + " (pass --token, set SQUADBOX_TOKEN, or --data-dir)");
    out.token = std::move(*from_file);
  }
  return out;
}

}  // namespace sb::app::cli
