#pragma once
// Shared helpers for the vault tests: a data dir with a database and key file, and
// raw access to the bytes on disk.
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "storage/vault_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::storage::test {

inline std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline mode_t file_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

struct VaultDir {
  VaultDir() = default;
  // `db`: the database to use (a postgres: locator); empty: squadbox.db in the dir.
  explicit VaultDir(const std::string& db) {
    if (!db.empty()) db_path = db;
  }

  sb::test::TempDir dir{"squadbox-vault"};
  std::string db_path = dir.file("squadbox.db");
  std::string key_path = dir.file("vault.key");

  VaultOptions options(std::optional<std::string> env_key = std::nullopt) const {
    VaultOptions o;
    o.db_path = db_path;
    o.key_file = key_path;
    if (env_key) o.env_key = Secret(*env_key);
    return o;
  }
  // Opens or fails the test (callers ASSERT on the pointer).
  std::shared_ptr<Vault> open(std::optional<std::string> env_key = std::nullopt) const {
    auto v = Vault::open(options(std::move(env_key)));
    if (!v) {
      ADD_FAILURE() << v.error().code << ": " << v.error().message;
      return nullptr;
    }
    return *v;
  }
  std::string key_hex() const {
    std::string k = file_bytes(key_path);
    while (!k.empty() && k.back() == '\n') k.pop_back();
    return k;
  }
};

}  // namespace sb::storage::test
