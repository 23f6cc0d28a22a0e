#include "storage/vault_store.hpp"

#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <utility>

#include "runtime/config/config.hpp"
#include "runtime/core/log.hpp"
#include "runtime/core/time.hpp"
#include "runtime/security/vault/key_file.hpp"
#include "runtime/security/vault/secure_key.hpp"
#include "runtime/security/vault/vault_crypto.hpp"
#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"

namespace sb::storage {

using namespace security::vault;
namespace {

struct StoredRow {
  std::string name;
  std::string ciphertext;
  std::string nonce;
};

Result<std::vector<StoredRow>> load_rows(storage::Database& db) {
  auto stmt = db.prepare("SELECT name, ciphertext, nonce FROM secrets ORDER BY name");
  if (!stmt) return stmt.error();
  std::vector<StoredRow> rows;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    rows.push_back({stmt->column_text(0), stmt->column_blob(1), stmt->column_blob(2)});
  }
  return rows;
}

// Engine point (SQLite only): pages freed by a replaced or removed secret are
// overwritten, not left in the file. PostgreSQL has no counterpart (a dead tuple keeps the
// old ciphertext until VACUUM reuses its space; docs/storage.md, "PostgreSQL schema"), so
// there it is a no-op.
Status enable_sqlite_secure_delete(storage::Database& db) {
  if (db.engine() != storage::Engine::sqlite) return {};
  return db.exec("PRAGMA secure_delete=ON");
}

// The check value (table vault_check, one row): a fixed plaintext sealed under the key at
// the first open, so a wrong key is refused even while no secret exists, e.g. a second
// node of a cluster with a key file of its own. `kCheckName` is the associated data, as a
// secret's name is for its row; no secret can be named so (valid_secret_name).
constexpr const char* kCheckName = "squadbox/vault-check";
constexpr const char* kCheckPlaintext = "squadbox vault check value v1";

struct CheckRow {
  std::string ciphertext;
  std::string nonce;
};

Result<std::optional<CheckRow>> load_check(storage::Database& db) {
  auto stmt = db.prepare("SELECT ciphertext, nonce FROM vault_check WHERE id = 'vault'");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<CheckRow>{};
  return std::optional<CheckRow>(CheckRow{stmt->column_blob(0), stmt->column_blob(1)});
}

bool check_decrypts(const CheckRow& check, const SecureKey& key) {
  auto value = unseal(key, kCheckName, check.ciphertext, check.nonce);
  return value && value->reveal() == kCheckPlaintext;
}

// Nodes opening a new database together race here: the first insert wins, the others
// insert nothing and verify the winner's row like any later open.
Status write_check_if_absent(storage::Database& db, const SecureKey& key, int64_t now) {
  const Sealed sealed = seal(key, kCheckName, Secret(kCheckPlaintext));
  auto stmt = db.prepare(
      "INSERT INTO vault_check(id, ciphertext, nonce, created_at) VALUES ('vault', ?1, ?2, ?3) "
      "ON CONFLICT (id) DO NOTHING");
  if (!stmt) return stmt.error();
  (void)stmt->bind_blob(1, sealed.ciphertext);
  (void)stmt->bind_blob(2, sealed.nonce);
  (void)stmt->bind(3, now);
  if (auto st = stmt->step(); !st) return st.error();
  return {};
}

enum class KeyFit { no_rows, decrypts, does_not_decrypt };

// The check value, when there is one, decides: rotation re-seals it in the same
// transaction as the secrets. Without one (a database from before it), rows are
// re-encrypted in one transaction, so they all use the same key: one row that
// authenticates proves the key. A single tampered row does not make the key "wrong".
KeyFit key_fit(const std::vector<StoredRow>& rows, const std::optional<CheckRow>& check, const SecureKey& key) {
  if (check) return check_decrypts(*check, key) ? KeyFit::decrypts : KeyFit::does_not_decrypt;
  if (rows.empty()) return KeyFit::no_rows;
  for (const auto& r : rows)
    if (unseal(key, r.name, r.ciphertext, r.nonce)) return KeyFit::decrypts;
  return KeyFit::does_not_decrypt;
}

std::string next_path(const std::string& key_file) {
  return key_file + ".next";
}

Status replace_key_file(const std::string& next, const std::string& key_file) {
  if (std::rename(next.c_str(), key_file.c_str()) != 0)
    return make_error("vault.key_file", "cannot rename " + next + " to " + key_file);
  return fsync_dir(parent_dir(key_file));
}

Status discard_next_key(const std::string& next) {
  if (::remove(next.c_str()) != 0 && path_exists(next)) return make_error("vault.key_file", "cannot remove " + next);
  return fsync_dir(parent_dir(next));
}

Error wrong_key(const std::string& origin, bool by_check) {
  if (by_check)
    return make_error("vault.wrong_key", "the vault key from " + origin +
                                             " does not decrypt this database's check value; every node of a "
                                             "cluster needs the same security.vault_key_file (or " +
                                             kVaultKeyEnv + "), and a data directory's key file belongs to it");
  return make_error("vault.wrong_key", "the vault key from " + origin +
                                           " does not decrypt the stored secrets (wrong key, or the key file "
                                           "belongs to another data directory)");
}

// An interrupted rotation left `KEY.next`. The rows were re-encrypted in one transaction
// after KEY.next was durable, so trial decryption tells which key they use: the new one
// (finish: rename) or the old one (roll back: delete KEY.next).
Status recover_rotation(const std::vector<StoredRow>& rows, const std::optional<CheckRow>& check,
                        const std::string& key_file) {
  const std::string next = next_path(key_file);
  auto next_key = read_key_file(next);
  if (!next_key) {
    if (next_key.error().code == "vault.bad_key" || next_key.error().code == "vault.key_missing") {
      // Torn write of KEY.next: no row can use it yet.
      log::warn("vault.rotation_rolled_back", {{"key_file", key_file}, {"reason", "incomplete next key file"}});
      return discard_next_key(next);
    }
    return next_key.error();
  }
  if (key_fit(rows, check, *next_key) == KeyFit::decrypts || !path_exists(key_file)) {
    log::warn("vault.rotation_completed", {{"key_file", key_file}, {"secrets", static_cast<int64_t>(rows.size())}});
    return replace_key_file(next, key_file);
  }
  log::warn("vault.rotation_rolled_back", {{"key_file", key_file}, {"reason", "secrets still use the old key"}});
  return discard_next_key(next);
}

}  // namespace

VaultOptions vault_options(const config::Config& config, const std::map<std::string, std::string>& env) {
  VaultOptions o;
  o.db_path = config.storage_path();
  o.key_file = config.vault_key_path();
  o.busy_timeout_ms = static_cast<int>(config.storage.busy_timeout_ms);
  if (auto it = env.find(kVaultKeyEnv); it != env.end() && !it->second.empty()) o.env_key = Secret(it->second);
  return o;
}

struct Vault::Impl {
  VaultOptions options;
  std::string origin;
  mutable std::mutex mutex;  // guards db and key
  mutable storage::Database db;
  std::optional<SecureKey> key;
  std::mutex listeners_mutex;
  std::vector<std::function<void(const VaultChange&)>> listeners;

  Impl(VaultOptions o, std::string orig, storage::Database d, SecureKey k)
      : options(std::move(o)), origin(std::move(orig)), db(std::move(d)), key(std::move(k)) {}

  int64_t now() const { return options.clock_ms ? options.clock_ms() : now_ms(); }

  void notify(const VaultChange& change) {
    std::vector<std::function<void(const VaultChange&)>> copy;
    {
      std::lock_guard lock(listeners_mutex);
      copy = listeners;
    }
    for (const auto& l : copy) l(change);
  }
};

Vault::Vault(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Vault::~Vault() = default;

Result<std::shared_ptr<Vault>> Vault::open(VaultOptions options) {
  if (sodium_init() < 0) return make_error("vault.memory", "libsodium failed to initialise");
  storage::OpenOptions open;
  open.busy_timeout_ms = options.busy_timeout_ms;
  open.synchronous = "FULL";
  auto db = storage::Database::open(options.db_path, open);
  if (!db) return db.error();
  if (auto st = storage::migrate(*db); !st) return st.error();
  if (auto st = enable_sqlite_secure_delete(*db); !st) return st.error();
  auto rows = load_rows(*db);
  if (!rows) return rows.error();
  auto check = load_check(*db);
  if (!check) return check.error();

  std::string origin;
  std::optional<SecureKey> key;
  if (options.env_key) {
    origin = std::string("environment variable ") + kVaultKeyEnv;
    auto parsed = SecureKey::from_hex(options.env_key->reveal());
    if (!parsed) return make_error(parsed.error().code, origin + ": " + parsed.error().message);
    key.emplace(std::move(*parsed));
  } else {
    origin = "key file " + options.key_file;
    if (path_exists(next_path(options.key_file)))
      if (auto st = recover_rotation(*rows, *check, options.key_file); !st) return st.error();
    auto loaded = read_key_file(options.key_file);
    if (!loaded && loaded.error().code == "vault.key_missing") {
      if (!rows->empty())
        return make_error("vault.key_missing",
                          "vault key file " + options.key_file + " does not exist but the database holds " +
                              std::to_string(rows->size()) + " encrypted secret(s); restore the key file (or set " +
                              kVaultKeyEnv + ")");
      // A fresh key could never open this database: a node joining a cluster copies the
      // cluster's key file instead.
      if (*check)
        return make_error("vault.key_missing",
                          "vault key file " + options.key_file +
                              " does not exist but the database holds a vault check value sealed under another "
                              "key; every node of a cluster needs the same security.vault_key_file: copy it here (or "
                              "set " +
                              kVaultKeyEnv + ")");
      auto fresh = SecureKey::generate();
      if (!fresh) return fresh.error();
      if (auto st = create_key_file(options.key_file, *fresh); !st) return st.error();
      log::info("vault.key_created", {{"path", options.key_file}});
      key.emplace(std::move(*fresh));
    } else if (!loaded) {
      return loaded.error();
    } else {
      key.emplace(std::move(*loaded));
    }
  }
  if (key_fit(*rows, *check, *key) == KeyFit::does_not_decrypt) return wrong_key(origin, check->has_value());
  if (!*check) {
    // First open, or a database from before the check value: seal it now, then verify
    // what is stored (another node may have sealed it first, under its key).
    const int64_t now = options.clock_ms ? options.clock_ms() : now_ms();
    if (auto st = write_check_if_absent(*db, *key, now); !st) return st.error();
    auto stored = load_check(*db);
    if (!stored) return stored.error();
    if (!*stored || !check_decrypts(**stored, *key)) return wrong_key(origin, true);
  }
  log::info("vault.opened", {{"key", origin}, {"secrets", static_cast<int64_t>(rows->size())}});
  auto impl = std::make_unique<Impl>(std::move(options), std::move(origin), std::move(*db), std::move(*key));
  return std::shared_ptr<Vault>(new Vault(std::move(impl)));
}

Result<SetResult> Vault::set(const std::string& name, const Secret& value) {
  if (!valid_secret_name(name))
    return make_error("vault.invalid_name", std::string("secret name must match ") + kSecretNamePattern);
  if (value.empty()) return make_error("vault.empty_value", "secret value must not be empty");
  if (value.reveal().size() > kMaxSecretBytes)
    return make_error("vault.too_large", "secret value exceeds " + std::to_string(kMaxSecretBytes) + " bytes");
  SetResult out;
  {
    std::lock_guard lock(impl_->mutex);
    auto& db = impl_->db;
    const int64_t now = impl_->now();
    const Sealed sealed = seal(*impl_->key, name, value);
    auto tx = storage::Transaction::begin(db);
    if (!tx) return tx.error();
    auto find = db.prepare("SELECT created_at FROM secrets WHERE name = ?1");
    if (!find) return find.error();
    (void)find->bind(1, std::string_view(name));
    auto found = find->step();
    if (!found) return found.error();
    out.created = !*found;
    out.info = SecretInfo{name, out.created ? now : find->column_int64(0), now};
    find->reset();
    auto write =
        db.prepare(out.created ? "INSERT INTO secrets(ciphertext, nonce, updated_at, name, created_at) "
                                 "VALUES(?1, ?2, ?3, ?4, ?5)"
                               : "UPDATE secrets SET ciphertext = ?1, nonce = ?2, updated_at = ?3 WHERE name = ?4");
    if (!write) return write.error();
    (void)write->bind_blob(1, sealed.ciphertext);
    (void)write->bind_blob(2, sealed.nonce);
    (void)write->bind(3, now);
    (void)write->bind(4, std::string_view(name));
    if (out.created) (void)write->bind(5, now);
    if (auto st = write->step(); !st) return st.error();
    if (auto st = tx->commit(); !st) return st.error();
  }
  impl_->notify({VaultChange::Kind::set, name});
  return out;
}

Result<Secret> Vault::get(const std::string& name) const {
  if (!valid_secret_name(name))
    return make_error("vault.invalid_name", std::string("secret name must match ") + kSecretNamePattern);
  std::lock_guard lock(impl_->mutex);
  auto stmt = impl_->db.prepare("SELECT ciphertext, nonce FROM secrets WHERE name = ?1");
  if (!stmt) return stmt.error();
  (void)stmt->bind(1, std::string_view(name));
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return make_error("vault.not_found", "no secret named " + name);
  auto value = unseal(*impl_->key, name, stmt->column_blob(0), stmt->column_blob(1));
  if (!value)
    return make_error("vault.decrypt", "secret " + name + " does not decrypt with the vault key from " + impl_->origin +
                                           " (wrong key, or the row was tampered with)");
  return value;
}

Result<std::vector<SecretInfo>> Vault::list() const {
  std::lock_guard lock(impl_->mutex);
  auto stmt = impl_->db.prepare("SELECT name, created_at, updated_at FROM secrets ORDER BY name");
  if (!stmt) return stmt.error();
  std::vector<SecretInfo> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back({stmt->column_text(0), stmt->column_int64(1), stmt->column_int64(2)});
  }
  return out;
}

Result<bool> Vault::remove(const std::string& name) {
  if (!valid_secret_name(name))
    return make_error("vault.invalid_name", std::string("secret name must match ") + kSecretNamePattern);
  bool removed = false;
  {
    std::lock_guard lock(impl_->mutex);
    auto stmt = impl_->db.prepare("DELETE FROM secrets WHERE name = ?1");
    if (!stmt) return stmt.error();
    (void)stmt->bind(1, std::string_view(name));
    if (auto st = stmt->step(); !st) return st.error();
    removed = impl_->db.changes() > 0;
  }
  if (removed) impl_->notify({VaultChange::Kind::removed, name});
  return removed;
}

Result<size_t> Vault::rotate_key() {
  return rotate(std::nullopt);
}

Result<size_t> Vault::rotate_key_until(RotationStop stop) {
  return rotate(stop);
}

// 1. write KEY.next (fsync'd, dir fsync'd); 2. re-encrypt every row under it in ONE
// transaction; 3. rename KEY.next over KEY (dir fsync'd). At every instant one of the
// key files on disk decrypts the rows, and open() knows which (recover_rotation).
Result<size_t> Vault::rotate(std::optional<RotationStop> stop) {
  size_t count = 0;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->options.env_key)
      return make_error("vault.key_from_env", std::string("the vault key comes from ") + kVaultKeyEnv +
                                                  "; rotate it by re-encrypting offline (see docs/security-vault.md)");
    const std::string& key_file = impl_->options.key_file;
    const std::string next = next_path(key_file);
    auto fresh = SecureKey::generate();
    if (!fresh) return fresh.error();
    if (path_exists(next)) {
      // Left by a rotation whose final rename failed: then it holds the key in use and
      // must become the key file, not be deleted. Anything else is stale.
      auto pending = read_key_file(next);
      if (pending && pending->equals(*impl_->key)) {
        if (auto st = replace_key_file(next, key_file); !st) return st.error();
      } else if (auto st = discard_next_key(next); !st) {
        return st.error();
      }
    }
    if (auto st = create_key_file(next, *fresh); !st) return st.error();
    if (stop == RotationStop::after_next_key_written) return make_error("vault.test_stop", "stopped (test)");

    // Until the commit the rows use the old key: on any failure KEY.next goes away.
    auto abandon = [&](Error e) {
      (void)discard_next_key(next);
      return e;
    };
    auto& db = impl_->db;
    auto tx = storage::Transaction::begin(db);
    if (!tx) return abandon(tx.error());
    auto rows = load_rows(db);
    if (!rows) return abandon(rows.error());
    auto update = db.prepare("UPDATE secrets SET ciphertext = ?1, nonce = ?2 WHERE name = ?3");
    if (!update) return abandon(update.error());
    for (const auto& r : *rows) {
      auto value = unseal(*impl_->key, r.name, r.ciphertext, r.nonce);
      if (!value)
        return abandon(make_error("vault.decrypt", "cannot rotate: secret " + r.name +
                                                       " does not decrypt with the current key (tampered row?); "
                                                       "remove or re-set it first"));
      const Sealed sealed = seal(*fresh, r.name, *value);
      (void)update->bind_blob(1, sealed.ciphertext);
      (void)update->bind_blob(2, sealed.nonce);
      (void)update->bind(3, std::string_view(r.name));
      if (auto st = update->step(); !st) return abandon(st.error());
      update->reset();
    }
    // The check value moves to the new key with the secrets, in the same transaction.
    const Sealed check = seal(*fresh, kCheckName, Secret(kCheckPlaintext));
    auto reseal = db.prepare("UPDATE vault_check SET ciphertext = ?1, nonce = ?2 WHERE id = 'vault'");
    if (!reseal) return abandon(reseal.error());
    (void)reseal->bind_blob(1, check.ciphertext);
    (void)reseal->bind_blob(2, check.nonce);
    if (auto st = reseal->step(); !st) return abandon(st.error());
    if (stop == RotationStop::before_commit) return make_error("vault.test_stop", "stopped (test)");
    if (auto st = tx->commit(); !st) return abandon(st.error());
    count = rows->size();
    // From here the rows need the new key: use it even if the rename fails (open()
    // finishes the rename at the next start).
    impl_->key.emplace(std::move(*fresh));
    if (stop == RotationStop::after_commit) return make_error("vault.test_stop", "stopped (test)");
    if (auto st = replace_key_file(next, key_file); !st)
      return make_error(st.error().code, "secrets were re-encrypted but the key file could not be replaced (" +
                                             st.error().message + "); the next start completes the rotation");
  }
  log::info("vault.key_rotated", {{"secrets", static_cast<int64_t>(count)}});
  impl_->notify({VaultChange::Kind::rotated, ""});
  return count;
}

void Vault::on_change(std::function<void(const VaultChange&)> listener) {
  std::lock_guard lock(impl_->listeners_mutex);
  impl_->listeners.push_back(std::move(listener));
}

const std::string& Vault::key_origin() const {
  return impl_->origin;
}

SecretLookup make_secret_lookup(std::shared_ptr<const Vault> vault) {
  return [vault = std::move(vault)](const std::string& name) { return vault->get(name); };
}

}  // namespace sb::storage
