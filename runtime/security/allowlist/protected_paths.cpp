#include "runtime/security/allowlist/protected_paths.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "runtime/security/allowlist/pinned_path.hpp"

namespace sb::security::allowlist {
namespace fs = std::filesystem;
namespace {

std::string real(const std::string& p) {
  std::unique_ptr<char, decltype(&::free)> r(::realpath(p.c_str(), nullptr), &::free);
  return r ? std::string(r.get()) : std::string();
}

}  // namespace

std::vector<std::string> protected_forms(const std::string& path) {
  if (path.empty()) return {};
  std::error_code ec;
  fs::path p = fs::absolute(expand_home(path), ec).lexically_normal();
  if (ec) return {};
  std::string text = p.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  std::vector<std::string> out;
  auto add = [&](std::string s) {
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  };
  struct stat st {};
  if (::lstat(text.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) add(text);  // the link's own name, too
  if (std::string r = real(text); !r.empty()) {
    add(r);
    return out;
  }
  // Not there yet: resolve the deepest existing ancestor, keep the rest as written.
  fs::path rest;
  fs::path cur = text;
  while (cur.has_parent_path() && cur != cur.parent_path()) {
    rest = cur.filename() / rest;
    cur = cur.parent_path();
    if (std::string r = real(cur.string()); !r.empty()) {
      std::string joined = (fs::path(r) / rest).lexically_normal().string();
      while (joined.size() > 1 && joined.back() == '/') joined.pop_back();
      add(joined);
      break;
    }
  }
  add(text);
  return out;
}

std::vector<ProtectedPath> protected_paths(const config::Config& config) {
  std::vector<ProtectedPath> out;
  auto protect = [&](const std::string& path, const char* what) {
    for (auto& form : protected_forms(path)) out.push_back(ProtectedPath{std::move(form), what});
  };
  protect(config.allowlist_path(), "allowlist_file");
  protect(config.node.data_dir, "data_dir");
  protect(config.vault_key_path(), "vault_key_file");
  protect(config.source_file, "config_file");
  // On PostgreSQL the database is the server's; what lives on this host is its password.
  if (config.storage.backend == "postgres") {
    protect(config.storage.postgres_password_file, "database_password_file");
  } else {
    protect(config.storage_path(), "database");
  }
  protect(config.admin_token_path(), "admin_token_file");
  return out;
}

}  // namespace sb::security::allowlist
