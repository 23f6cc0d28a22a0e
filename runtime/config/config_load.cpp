#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "runtime/config/config_keys.hpp"
#include "runtime/config/conninfo.hpp"

extern char** environ;

// Loading: the file, then the environment, then the cross-key rules; derived paths.
namespace sb::config {

bool conninfo_has_password(std::string_view conninfo) {
  if (conninfo.starts_with("postgres://") || conninfo.starts_with("postgresql://")) {
    auto rest = conninfo.substr(conninfo.find("://") + 3);
    auto at = rest.find('@');
    auto slash = rest.find('/');
    if (at != std::string_view::npos && (slash == std::string_view::npos || at < slash) &&
        rest.substr(0, at).find(':') != std::string_view::npos)
      return true;
    return rest.find("password=") != std::string_view::npos;
  }
  // key=value pairs separated by whitespace; a key may have spaces around '='.
  for (size_t i = 0; i < conninfo.size();) {
    while (i < conninfo.size() && std::isspace(static_cast<unsigned char>(conninfo[i]))) ++i;
    size_t key_end = i;
    while (key_end < conninfo.size() && conninfo[key_end] != '=' &&
           !std::isspace(static_cast<unsigned char>(conninfo[key_end])))
      ++key_end;
    if (conninfo.substr(i, key_end - i) == "password") return true;
    // Skip the value: quoted ('...' with \' escapes) or up to the next space.
    i = conninfo.find('=', key_end);
    if (i == std::string_view::npos) break;
    ++i;
    while (i < conninfo.size() && std::isspace(static_cast<unsigned char>(conninfo[i]))) ++i;
    if (i < conninfo.size() && conninfo[i] == '\'') {
      for (++i; i < conninfo.size() && conninfo[i] != '\''; ++i)
        if (conninfo[i] == '\\') ++i;
      ++i;
    } else {
      while (i < conninfo.size() && !std::isspace(static_cast<unsigned char>(conninfo[i]))) ++i;
    }
  }
  return false;
}

bool postgres_schema_name_ok(std::string_view schema) {
  bool ok = !schema.empty() && schema.size() <= 63 && !std::isdigit(static_cast<unsigned char>(schema[0]));
  for (char ch : schema)
    ok = ok &&
         (std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) || ch == '_');
  return ok;
}

namespace {

using namespace detail;

Result<Value> from_env(const KeyDef& d, const std::string& text, const std::string& origin) {
  switch (d.info.kind) {
    case Kind::integer: {
      int64_t i = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
      if (ec == std::errc() && p == text.data() + text.size() && !text.empty()) return Value{i};
      break;
    }
    case Kind::string: return Value{text};
    case Kind::boolean:
      if (text == "true" || text == "1") return Value{true};
      if (text == "false" || text == "0") return Value{false};
      break;
  }
  return invalid(
      fmt::format("{}: expected {}, got \"{}\" ({})", d.info.dotted(), kind_name(d.info.kind), text, origin));
}

Status apply_env(Config& config, const std::map<std::string, std::string>& env) {
  for (const auto& [name, text] : env) {
    if (name.rfind("SQUADBOX_", 0) != 0) continue;
    const KeyDef* match = nullptr;
    bool section_prefix = false;
    for (const auto& d : defs()) {
      if (d.info.env_name() == name) match = &d;
      std::string prefix = "SQUADBOX_";
      for (char c : d.info.section) prefix.push_back(static_cast<char>(std::toupper(c)));
      prefix.push_back('_');
      if (name.rfind(prefix, 0) == 0) section_prefix = true;
    }
    if (!match) {
      // SQUADBOX_DATA_DIR, SQUADBOX_URL, ... belong to the CLI; only a name inside a
      // config section that matches no key is a typo worth refusing.
      if (section_prefix) return invalid(fmt::format("{}: unknown configuration variable (environment)", name));
      continue;
    }
    std::string origin = "environment " + name;
    auto v = from_env(*match, text, origin);
    if (!v) return v.error();
    if (auto ok = validate(*match, *v, origin); !ok) return ok.error();
    match->set(config, *v);
  }
  return {};
}

Status check_postgres_settings(const StorageConfig& s) {
  if (s.backend != "postgres") return {};
  if (s.postgres_url.empty())
    return invalid(
        "storage.postgres_url: required when storage.backend = \"postgres\" (a libpq connection "
        "string such as \"host=127.0.0.1 dbname=squadbox user=squadbox\")");
  if (conninfo_has_password(s.postgres_url))
    return invalid(
        "storage.postgres_url: must not contain a password; use storage.postgres_password_file "
        "(mode 0600), PGPASSFILE or peer authentication");
  if (!postgres_schema_name_ok(s.postgres_schema))
    return invalid("storage.postgres_schema: 1..63 characters of a-z, 0-9 and '_', not starting with a digit");
  return {};
}

bool host_port_ok(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return false;
  const auto port = text.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
  const long value = std::stol(std::string(port));
  return value > 0 && value <= 65535;
}

// A DNS label, as `squadbox cluster cert issue` names the node in its certificate.
bool node_name_ok(std::string_view name) {
  return !name.empty() && name.size() <= 63 && name.front() != '-' && name.back() != '-' &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string_view::npos;
}

Status check_cluster_settings(const Config& c) {
  const auto& k = c.cluster;
  if (!k.enabled) return {};
  if (c.storage.backend != "postgres")
    return invalid(
        "cluster.enabled: a cluster keeps its shared state in PostgreSQL; set storage.backend = \"postgres\" "
        "(docs/cluster.md)");
  if (!node_name_ok(k.node_name))
    return invalid(
        "cluster.node_name: required, 1..63 characters of a-z, 0-9 and '-', not starting or ending with '-'");
  if (!host_port_ok(k.listen)) return invalid("cluster.listen: required, host:port");
  if (!k.advertise.empty() && !host_port_ok(k.advertise)) return invalid("cluster.advertise: host:port");
  if (k.tls_cert_file.empty() || k.tls_key_file.empty() || k.tls_ca_file.empty())
    return invalid(
        "cluster.tls_cert_file, cluster.tls_key_file, cluster.tls_ca_file: all three are required; nodes talk "
        "only over mutual TLS (`squadbox cluster ca init`, `squadbox cluster cert issue`)");
  if (k.connection_timeout_ms < 3 * k.heartbeat_interval_ms)
    return invalid(fmt::format("cluster.connection_timeout_ms: {} is below 3x cluster.heartbeat_interval_ms ({})",
                               k.connection_timeout_ms, k.heartbeat_interval_ms));
  return {};
}

// Cross-key rules that no single key can check.
Status check_consistency(const Config& c) {
  if (c.supervisor.backoff_max_ms < c.supervisor.backoff_base_ms)
    return invalid(fmt::format("supervisor.backoff_max_ms: {} is below supervisor.backoff_base_ms {}",
                               c.supervisor.backoff_max_ms, c.supervisor.backoff_base_ms));
  if (c.node.data_dir.empty()) return invalid("node.data_dir: must not be empty");
  if (c.admin.address.empty()) return invalid("admin.address: must not be empty");
  if (c.namespaces.assistant_name.empty() || c.namespaces.assistant_name.size() > 63 ||
      c.namespaces.assistant_name.find_first_of(" \t\r\n@") != std::string::npos)
    return invalid("namespaces.assistant_name: must be 1..63 characters without spaces or '@'");
  if (c.scheduler.time_zone.empty()) return invalid("scheduler.time_zone: must not be empty");
  if (auto st = check_postgres_settings(c.storage); !st) return st;
  if (auto st = check_cluster_settings(c); !st) return st;
  return check_channel_bots(c);
}

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

}  // namespace

std::string Config::storage_path() const {
  return storage.path.empty() ? join(node.data_dir, "squadbox.db") : storage.path;
}

std::string Config::vault_key_path() const {
  return security.vault_key_file.empty() ? join(node.data_dir, "vault.key") : security.vault_key_file;
}

std::string Config::allowlist_path() const {
  const std::string& f = security.allowlist_file;
  if (f == "~" || f.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + f.substr(1);
  }
  return f;
}

std::string Config::admin_token_path() const {
  return admin.token_file.empty() ? join(node.data_dir, "admin.token") : admin.token_file;
}

Result<Config> load(const std::optional<std::string>& file, const std::map<std::string, std::string>& env) {
  Config config;
  if (file) {
    if (auto ok = apply_file(config, *file); !ok) return ok.error();
    std::error_code ec;
    auto abs = std::filesystem::absolute(*file, ec);
    config.source_file = ec ? *file : abs.lexically_normal().string();
  }
  if (auto ok = apply_env(config, env); !ok) return ok.error();
  if (auto ok = check_consistency(config); !ok) return ok.error();
  return config;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

}  // namespace sb::config
