#pragma once
// The encrypted vault (security layer 3): named secrets, encrypted at rest in the
// `secrets` table under a 32-byte master key (vault_crypto.hpp).
//
// The master key comes from the environment variable SQUADBOX_VAULT_KEY (64 hex digits)
// if set, else from the key file (security.vault_key_file, default DATA_DIR/vault.key),
// which is created (0600) at first start.
//
// Storage: the vault has its own SQLite connection (synchronous=FULL) and bypasses the
// node's group-commit writer on purpose: secret changes are rare, and each must be
// durable before the API answers.
//
// Thread-safe: every operation takes one mutex (the SQLite connection is single-user),
// so the credential proxy may call get() from its I/O threads.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/result.hpp"
#include "runtime/core/secret.hpp"

namespace sb::config {
struct Config;
}

namespace sb::storage {

inline constexpr const char* kVaultKeyEnv = "SQUADBOX_VAULT_KEY";

struct VaultOptions {
  std::string db_path;
  std::string key_file;               // ignored when env_key is set
  std::optional<Secret> env_key;      // SQUADBOX_VAULT_KEY; takes precedence over key_file
  int busy_timeout_ms = 5000;         // waits for the node's writer to release the database
  std::function<int64_t()> clock_ms;  // unix ms; default: the system clock
};

// The node's vault options: storage path, Config::vault_key_path(), SQUADBOX_VAULT_KEY.
VaultOptions vault_options(const config::Config& config, const std::map<std::string, std::string>& env);

struct SecretInfo {
  std::string name;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct SetResult {
  SecretInfo info;
  bool created = false;  // false: an existing secret was replaced
};

struct VaultChange {
  enum class Kind { set, removed, rotated };
  Kind kind = Kind::set;
  std::string name;  // empty for `rotated`
};

class Vault {
 public:
  // Opens the database (migrating it if needed) and the key; finishes or rolls back an
  // interrupted key rotation. Errors (all name the key's origin):
  //   vault.key_missing  key file absent while the database holds secrets or a check value
  //   vault.key_mode     key file accessible by group/others
  //   vault.bad_key      not 64 hex digits
  //   vault.wrong_key    the key does not decrypt the database's check value (written
  //                      under the first key at first open; one per database, so every
  //                      node of a cluster must share the key), or, in a database from
  //                      before the check value, none of the stored secrets
  //   vault.key_file, vault.memory, sqlite.* / storage.*
  static Result<std::shared_ptr<Vault>> open(VaultOptions options);
  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  // Errors: vault.invalid_name, vault.empty_value, vault.too_large, sqlite.*.
  Result<SetResult> set(const std::string& name, const Secret& value);
  // Errors: vault.invalid_name, vault.not_found, vault.decrypt (wrong key or tampered row).
  Result<Secret> get(const std::string& name) const;
  // Names and timestamps, by name; never values.
  Result<std::vector<SecretInfo>> list() const;
  // false: there was no such secret.
  Result<bool> remove(const std::string& name);
  // Re-encrypts every secret under a fresh key and replaces the key file; returns the
  // number of secrets. Crash-safe (see docs/security-vault.md). Error vault.key_from_env
  // when the key comes from SQUADBOX_VAULT_KEY (the vault cannot change the environment).
  Result<size_t> rotate_key();

  // Called after every successful change, outside the vault's lock (a listener may call
  // get()). Listeners run on the thread that made the change.
  void on_change(std::function<void(const VaultChange&)> listener);

  // "key file /path/vault.key" or "environment variable SQUADBOX_VAULT_KEY".
  const std::string& key_origin() const;

  // Test seam for crash safety: runs rotate_key() up to the given point and stops there
  // as if the process had died (no cleanup of the files; before_commit leaves the
  // transaction uncommitted). Discard the Vault afterwards, except after after_commit,
  // which also stands for a failed final rename: the Vault then keeps working.
  enum class RotationStop { after_next_key_written, before_commit, after_commit };
  Result<size_t> rotate_key_until(RotationStop stop);

 private:
  struct Impl;
  explicit Vault(std::unique_ptr<Impl> impl);
  Result<size_t> rotate(std::optional<RotationStop> stop);
  std::unique_ptr<Impl> impl_;
};

// A SecretLookup that keeps the vault alive.
SecretLookup make_secret_lookup(std::shared_ptr<const Vault> vault);

}  // namespace sb::storage
