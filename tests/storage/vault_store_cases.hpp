#pragma once
// The Vault on both engines (tests/support/store_engines.hpp), its key file on disk: key
// file handling, encryption at rest, tampering, wrong keys, key rotation.
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/config/config.hpp"
#include "runtime/security/vault/key_file.hpp"
#include "runtime/security/vault/secure_key.hpp"
#include "storage/sqlite.hpp"
#include "tests/support/store_engines.hpp"
#include "tests/support/vault_test_support.hpp"

namespace {

using sb::Secret;
using sb::storage::test::file_bytes;
using sb::storage::test::file_mode;
using sb::storage::test::VaultDir;

std::string fresh_hex_key() {
  auto key = sb::security::vault::SecureKey::generate();
  EXPECT_TRUE(key.ok());
  char hex[sb::security::vault::SecureKey::kHexChars + 1];
  key->write_hex(hex);
  return hex;
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
  { std::ofstream(path, std::ios::trunc) << content; }
  ::chmod(path.c_str(), mode);
}

class VaultStore : public ::testing::TestWithParam<sb::storage::Engine> {
 protected:
  void SetUp() override { SB_STORE_TARGET(first_, dir_); }
  // A database of its own for each VaultDir: empty (the VaultDir's own file) on SQLite, a
  // new schema on PostgreSQL.
  std::string target() {
    if (GetParam() != sb::storage::Engine::postgres) return {};
    return sb::storage::postgres_locator(sb::test::g_store_pg->conninfo(), sb::test::unique_name("vault"));
  }

  sb::test::TempDir dir_{"squadbox-vault-engine"};
  std::string first_;
};

TEST_P(VaultStore, RoundTripWithNamesAndTimestampsButNoValuesInTheList) {
  VaultDir d(target());
  int64_t now = 1700000000000;
  auto o = d.options();
  o.clock_ms = [&] { return now; };
  auto opened = sb::storage::Vault::open(o);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto vault = *opened;

  auto first = vault->set("anthropic-key", Secret("sk-ant-one"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->info.created_at_ms, now);
  now += 5000;
  auto second = vault->set("anthropic-key", Secret("sk-ant-two"));
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->info.created_at_ms, now - 5000);
  EXPECT_EQ(second->info.updated_at_ms, now);
  ASSERT_TRUE(vault->set("slack.bot_token", Secret("xoxb-1")).ok());

  auto value = vault->get("anthropic-key");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->reveal(), "sk-ant-two");
  auto list = vault->list();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "anthropic-key");
  EXPECT_EQ((*list)[0].created_at_ms, 1700000000000);
  EXPECT_EQ((*list)[0].updated_at_ms, 1700000005000);
  EXPECT_EQ((*list)[1].name, "slack.bot_token");

  auto removed = vault->remove("anthropic-key");
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  auto again = vault->remove("anthropic-key");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto gone = vault->get("anthropic-key");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, "vault.not_found");

  // Reopening with the same key file gives the same values.
  vault.reset();
  auto reopened = d.open();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->get("slack.bot_token")->reveal(), "xoxb-1");
}

TEST_P(VaultStore, RefusesBadNamesAndValues) {
  VaultDir d(target());
  auto vault = d.open();
  ASSERT_TRUE(vault);
  for (std::string bad : std::vector<std::string>{"", "-leading-dash", ".hidden", "has space", "a/b", "a:b", "ünïcode",
                                                  std::string(129, 'a')}) {
    auto r = vault->set(bad, Secret("v"));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "vault.invalid_name") << bad;
    EXPECT_EQ(vault->get(bad).error().code, "vault.invalid_name");
    EXPECT_EQ(vault->remove(bad).error().code, "vault.invalid_name");
  }
  EXPECT_TRUE(vault->set(std::string(128, 'a'), Secret("v")).ok());
  EXPECT_TRUE(vault->set("A0_.-z", Secret("v")).ok());
  EXPECT_EQ(vault->set("empty", Secret("")).error().code, "vault.empty_value");
  EXPECT_EQ(vault->set("huge", Secret(std::string(64 * 1024 + 1, 'x'))).error().code, "vault.too_large");
  EXPECT_TRUE(vault->set("max", Secret(std::string(64 * 1024, 'x'))).ok());
}

TEST_P(VaultStore, KeyFileIsCreatedOnceWithMode0600) {
  VaultDir d(target());
  ASSERT_FALSE(sb::security::vault::path_exists(d.key_path));
  {
    auto vault = d.open();
    ASSERT_TRUE(vault);
    ASSERT_TRUE(vault->set("k", Secret("v")).ok());
  }
  EXPECT_EQ(file_mode(d.key_path), 0600u);
  const std::string hex = d.key_hex();
  EXPECT_EQ(hex.size(), 64u);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
  // A second start reuses it.
  auto vault = d.open();
  ASSERT_TRUE(vault);
  EXPECT_EQ(d.key_hex(), hex);
  EXPECT_EQ(vault->get("k")->reveal(), "v");
  EXPECT_EQ(vault->key_origin(), "key file " + d.key_path);
}

TEST_P(VaultStore, RefusesAKeyFileReadableByGroupOrOthers) {
  VaultDir d(target());
  ASSERT_TRUE(d.open());
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    ::chmod(d.key_path.c_str(), mode);
    auto r = sb::storage::Vault::open(d.options());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "vault.key_mode");
    EXPECT_NE(r.error().message.find(d.key_path), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos) << r.error().message;
  }
  ::chmod(d.key_path.c_str(), 0600);
  EXPECT_TRUE(sb::storage::Vault::open(d.options()).ok());
  ::chmod(d.key_path.c_str(), 0400);
  EXPECT_TRUE(sb::storage::Vault::open(d.options()).ok());
}

TEST_P(VaultStore, RefusesAMalformedKeyFileWithoutEchoingIt) {
  VaultDir d(target());
  write_file(d.key_path, "not-a-key-but-a-password-like-string\n", 0600);
  auto r = sb::storage::Vault::open(d.options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "vault.bad_key");
  EXPECT_NE(r.error().message.find(d.key_path), std::string::npos);
  EXPECT_EQ(r.error().message.find("password-like"), std::string::npos) << r.error().message;
  write_file(d.key_path, std::string(63, 'a') + "g\n", 0600);
  EXPECT_EQ(sb::storage::Vault::open(d.options()).error().code, "vault.bad_key");
}

// Every byte the test's PostgreSQL server keeps on disk: its data directory (tables,
// indexes, the WAL), read as root after a CHECKPOINT has written the buffers out.
std::string server_files_bytes(const std::string& data_dir) {
  std::string all;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(data_dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) all += file_bytes(it->path().string());
  }
  return all;
}

TEST_P(VaultStore, PlaintextNeverReachesTheDatabaseFileOrItsWal) {
  if (GetParam() == sb::storage::Engine::postgres) {
    // The server's own files: its tables and its WAL, where every committed change lands.
    VaultDir d(target());
    const std::string marker = "sk-live-PLAINTEXT-MARKER-" + sb::test::unique_name("pg");
    const std::string visible = "VISIBLE-CONTROL-VALUE-" + sb::test::unique_name("pg");
    auto vault = d.open();
    ASSERT_TRUE(vault);
    ASSERT_TRUE(vault->set("marker", Secret(marker)).ok());
    ASSERT_TRUE(vault->set("marker", Secret(marker + "-v2")).ok());
    ASSERT_TRUE(vault->rotate_key().ok());
    EXPECT_EQ(vault->get("marker")->reveal(), marker + "-v2");
    auto raw = sb::storage::Database::open(d.db_path);
    ASSERT_TRUE(raw.ok()) << raw.error().message;
    // A value stored in clear beside it: the scan must find that one, or it proves nothing.
    ASSERT_TRUE(raw->exec("INSERT INTO channel_state(channel, bot, key, value, updated_at) VALUES ('t', 'b', 'k', '" +
                          visible + "', 0)")
                    .ok());
    ASSERT_TRUE(raw->exec("CHECKPOINT").ok());
    const std::string bytes = server_files_bytes(sb::test::g_store_pg->dir() + "/db");
    ASSERT_NE(bytes.find(visible), std::string::npos) << "the scan of the server's files misses stored values";
    EXPECT_EQ(bytes.find(marker), std::string::npos) << "plaintext in the server's files";
    EXPECT_EQ(bytes.find(d.key_hex()), std::string::npos) << "the vault key in the server's files";
    return;
  }
  VaultDir d(target());
  const std::string marker = "sk-live-PLAINTEXT-MARKER-7f3a9c";
  auto vault = d.open();
  ASSERT_TRUE(vault);
  ASSERT_TRUE(vault->set("marker", Secret(marker)).ok());
  ASSERT_TRUE(vault->set("marker", Secret(marker + "-v2")).ok());
  ASSERT_TRUE(vault->rotate_key().ok());
  auto check = [&](const char* when) {
    size_t files = 0;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const std::string bytes = file_bytes(d.db_path + suffix);
      if (!bytes.empty()) ++files;
      EXPECT_EQ(bytes.find(marker), std::string::npos) << when << ": plaintext in squadbox.db" << suffix;
      EXPECT_EQ(bytes.find(d.key_hex()), std::string::npos) << when << ": key in squadbox.db" << suffix;
    }
    return files;
  };
  EXPECT_GE(check("while open"), 2u);                         // the WAL holds the recent frames
  EXPECT_EQ(vault->get("marker")->reveal(), marker + "-v2");  // so the grep could have found it
  vault.reset();
  check("after close");
}

TEST_P(VaultStore, SwappedRowsFailToDecryptInsteadOfReturningTheOtherValue) {
  VaultDir d(target());
  auto vault = d.open();
  ASSERT_TRUE(vault);
  ASSERT_TRUE(vault->set("alpha", Secret("value-of-alpha")).ok());
  ASSERT_TRUE(vault->set("beta", Secret("value-of-beta")).ok());
  {
    auto raw = sb::storage::Database::open(d.db_path);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE(raw->exec("UPDATE secrets SET name = 'tmp' WHERE name = 'alpha';"
                          "UPDATE secrets SET name = 'alpha' WHERE name = 'beta';"
                          "UPDATE secrets SET name = 'beta' WHERE name = 'tmp';")
                    .ok());
  }
  for (const char* name : {"alpha", "beta"}) {
    auto r = vault->get(name);
    ASSERT_FALSE(r.ok()) << name << " decrypted to " << r->reveal();
    EXPECT_EQ(r.error().code, "vault.decrypt");
    EXPECT_NE(r.error().message.find(d.key_path), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("value-of"), std::string::npos);
  }
  // A flipped ciphertext bit is caught the same way.
  ASSERT_TRUE(vault->set("gamma", Secret("value-of-gamma")).ok());
  {
    auto raw = sb::storage::Database::open(d.db_path);
    ASSERT_TRUE(raw.ok());
    auto read = raw->prepare("SELECT ciphertext FROM secrets WHERE name = 'gamma'");
    ASSERT_TRUE(read.ok());
    ASSERT_TRUE(*read->step());
    std::string ciphertext = read->column_blob(0);
    read->reset();
    ciphertext[2] = static_cast<char>(ciphertext[2] ^ 0x01);
    auto write = raw->prepare("UPDATE secrets SET ciphertext = ? WHERE name = 'gamma'");
    ASSERT_TRUE(write.ok());
    ASSERT_TRUE(write->bind_blob(1, ciphertext).ok());
    ASSERT_TRUE(write->step().ok());
  }
  EXPECT_EQ(vault->get("gamma").error().code, "vault.decrypt");
  // Tampered rows do not stop the vault from opening: the key still fits other rows.
  ASSERT_TRUE(vault->set("delta", Secret("fine")).ok());
  vault.reset();
  auto reopened = d.open();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->get("delta")->reveal(), "fine");
}

TEST_P(VaultStore, AWrongKeyIsAClearErrorNamingTheKeyFile) {
  VaultDir d(target());
  {
    auto vault = d.open();
    ASSERT_TRUE(vault);
    ASSERT_TRUE(vault->set("k", Secret("v")).ok());
  }
  write_file(d.key_path, fresh_hex_key() + "\n", 0600);
  auto r = sb::storage::Vault::open(d.options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "vault.wrong_key");
  EXPECT_NE(r.error().message.find(d.key_path), std::string::npos) << r.error().message;

  auto env = sb::storage::Vault::open(d.options(fresh_hex_key()));
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.error().code, "vault.wrong_key");
  EXPECT_NE(env.error().message.find("SQUADBOX_VAULT_KEY"), std::string::npos) << env.error().message;
}

// Every node of a cluster opens the vault over the one shared database: a node with a key
// of its own is refused at once, though no secret exists yet to show the mismatch.
TEST_P(VaultStore, AnotherKeyIsRefusedByTheCheckValueEvenWithoutSecrets) {
  VaultDir d(target());
  ASSERT_TRUE(d.open());
  auto r = sb::storage::Vault::open(d.options(fresh_hex_key()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "vault.wrong_key");
  EXPECT_NE(r.error().message.find("security.vault_key_file"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("check value"), std::string::npos) << r.error().message;

  // A second node sharing the database but with a key file of its own.
  VaultDir other;
  other.db_path = d.db_path;
  write_file(other.key_path, fresh_hex_key() + "\n", 0600);
  auto second = sb::storage::Vault::open(other.options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "vault.wrong_key");
  EXPECT_NE(second.error().message.find(other.key_path), std::string::npos) << second.error().message;
  // Without a key file it is not given a fresh key that could never open the database.
  ASSERT_EQ(::unlink(other.key_path.c_str()), 0);
  auto keyless = sb::storage::Vault::open(other.options());
  ASSERT_FALSE(keyless.ok());
  EXPECT_EQ(keyless.error().code, "vault.key_missing");
  EXPECT_NE(keyless.error().message.find("security.vault_key_file"), std::string::npos) << keyless.error().message;
  EXPECT_FALSE(sb::security::vault::path_exists(other.key_path));
  // The same key, as a cluster's nodes share it, opens it.
  write_file(other.key_path, d.key_hex() + "\n", 0600);
  EXPECT_TRUE(sb::storage::Vault::open(other.options()).ok());
}

// A database from before the check value gets it at the next open, under the key in use,
// and a rotation moves it to the new key with the secrets.
TEST_P(VaultStore, TheCheckValueIsWrittenIntoAnOlderDatabaseAndFollowsARotation) {
  VaultDir d(target());
  {
    auto vault = d.open();
    ASSERT_TRUE(vault);
    ASSERT_TRUE(vault->set("k", Secret("v")).ok());
  }
  auto db = sb::storage::Database::open(d.db_path);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(db->exec("DELETE FROM vault_check"));
  {
    auto vault = d.open();
    ASSERT_TRUE(vault);
    EXPECT_EQ(vault->get("k")->reveal(), "v");
  }
  {
    auto stmt = db->prepare("SELECT count(*) FROM vault_check");
    ASSERT_TRUE(stmt);
    ASSERT_TRUE(stmt->step().value());
    EXPECT_EQ(stmt->column_int64(0), 1);
  }
  ASSERT_TRUE(db->exec("DELETE FROM secrets"));
  auto wrong = sb::storage::Vault::open(d.options(fresh_hex_key()));
  ASSERT_FALSE(wrong.ok()) << "the check value alone tells the key is wrong";
  EXPECT_EQ(wrong.error().code, "vault.wrong_key");

  const std::string before = d.key_hex();
  {
    auto vault = d.open();
    ASSERT_TRUE(vault);
    ASSERT_TRUE(vault->rotate_key().ok());
  }
  EXPECT_NE(d.key_hex(), before);
  EXPECT_TRUE(d.open()) << "the rotated key decrypts the re-sealed check value";
  auto old = sb::storage::Vault::open(d.options(before));
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code, "vault.wrong_key");
}

TEST_P(VaultStore, AMissingKeyFileIsNotReplacedWhileSecretsExist) {
  VaultDir d(target());
  {
    auto vault = d.open();
    ASSERT_TRUE(vault);
    ASSERT_TRUE(vault->set("k", Secret("v")).ok());
  }
  ASSERT_EQ(::unlink(d.key_path.c_str()), 0);
  auto r = sb::storage::Vault::open(d.options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "vault.key_missing");
  EXPECT_NE(r.error().message.find(d.key_path), std::string::npos);
  EXPECT_FALSE(sb::security::vault::path_exists(d.key_path)) << "a fresh key would orphan the stored secrets";
}

TEST_P(VaultStore, TheEnvironmentKeyTakesPrecedenceOverTheKeyFile) {
  VaultDir d(target());
  const std::string key = fresh_hex_key();
  {
    auto vault = d.open(key);
    ASSERT_TRUE(vault);
    EXPECT_EQ(vault->key_origin(), "environment variable SQUADBOX_VAULT_KEY");
    ASSERT_TRUE(vault->set("k", Secret("from-env")).ok());
  }
  EXPECT_FALSE(sb::security::vault::path_exists(d.key_path))
      << "no key file is made when the key comes from the environment";
  auto again = d.open(key);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->get("k")->reveal(), "from-env");
  // Upper case hex and a trailing newline are accepted.
  std::string upper = key;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(sb::storage::Vault::open(d.options(upper + "\n")).ok());

  auto bad = sb::storage::Vault::open(d.options("0123"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "vault.bad_key");
  EXPECT_NE(bad.error().message.find("SQUADBOX_VAULT_KEY"), std::string::npos);
  auto rotate = again->rotate_key();
  ASSERT_FALSE(rotate.ok());
  EXPECT_EQ(rotate.error().code, "vault.key_from_env");
}

TEST_P(VaultStore, RotateKeyReencryptsEverythingAndRetiresTheOldKey) {
  VaultDir d(target());
  auto vault = d.open();
  ASSERT_TRUE(vault);
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(vault->set("secret-" + std::to_string(i), Secret("value-" + std::to_string(i))).ok());
  const std::string old_key = d.key_hex();
  auto rotated = vault->rotate_key();
  ASSERT_TRUE(rotated.ok()) << rotated.error().message;
  EXPECT_EQ(*rotated, 20u);
  EXPECT_NE(d.key_hex(), old_key);
  EXPECT_EQ(file_mode(d.key_path), 0600u);
  EXPECT_FALSE(sb::security::vault::path_exists(d.key_path + ".next"));
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(vault->get("secret-" + std::to_string(i))->reveal(), "value-" + std::to_string(i));
  vault.reset();

  auto with_old = sb::storage::Vault::open(d.options(old_key));
  ASSERT_FALSE(with_old.ok());
  EXPECT_EQ(with_old.error().code, "vault.wrong_key");
  auto reopened = d.open();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->get("secret-7")->reveal(), "value-7");
  // An empty vault rotates too.
  VaultDir empty(target());
  auto e = empty.open();
  ASSERT_TRUE(e);
  EXPECT_EQ(*e->rotate_key(), 0u);
}

TEST_P(VaultStore, ARotationWhoseRenameFailedIsFinishedByTheNextRotation) {
  VaultDir d(target());
  auto vault = d.open();
  ASSERT_TRUE(vault);
  ASSERT_TRUE(vault->set("k", Secret("v")).ok());
  ASSERT_EQ(vault->rotate_key_until(sb::storage::Vault::RotationStop::after_commit).error().code, "vault.test_stop");
  // The rows use the key that only vault.key.next holds; the vault still serves them.
  EXPECT_EQ(vault->get("k")->reveal(), "v");
  ASSERT_TRUE(vault->set("k2", Secret("v2")).ok());
  auto rotated = vault->rotate_key();
  ASSERT_TRUE(rotated.ok()) << rotated.error().message;
  EXPECT_EQ(*rotated, 2u);
  EXPECT_FALSE(sb::security::vault::path_exists(d.key_path + ".next"));
  vault.reset();
  auto reopened = d.open();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->get("k")->reveal(), "v");
  EXPECT_EQ(reopened->get("k2")->reveal(), "v2");
}

TEST_P(VaultStore, ATornNextKeyFileIsDiscardedAtOpen) {
  VaultDir d(target());
  {
    auto vault = d.open();
    ASSERT_TRUE(vault);
    ASSERT_TRUE(vault->set("k", Secret("v")).ok());
  }
  write_file(d.key_path + ".next", "0123456789abcdef", 0600);  // crash while writing it
  auto vault = d.open();
  ASSERT_TRUE(vault);
  EXPECT_FALSE(sb::security::vault::path_exists(d.key_path + ".next"));
  EXPECT_EQ(vault->get("k")->reveal(), "v");
}

TEST_P(VaultStore, ChangeListenersAndTheProxyLookupSeeEveryChange) {
  VaultDir d(target());
  auto vault = d.open();
  ASSERT_TRUE(vault);
  std::vector<std::string> seen;
  vault->on_change([&](const sb::storage::VaultChange& c) {
    const char* kind = c.kind == sb::storage::VaultChange::Kind::set       ? "set"
                       : c.kind == sb::storage::VaultChange::Kind::removed ? "removed"
                                                                           : "rotated";
    // A listener may read the vault (it runs outside the lock).
    if (c.kind == sb::storage::VaultChange::Kind::set) {
      EXPECT_TRUE(vault->get(c.name).ok());
    }
    seen.push_back(std::string(kind) + ":" + c.name);
  });
  auto lookup = sb::storage::make_secret_lookup(vault);
  ASSERT_TRUE(vault->set("api", Secret("one")).ok());
  EXPECT_EQ(lookup("api")->reveal(), "one");
  ASSERT_TRUE(vault->rotate_key().ok());
  EXPECT_EQ(lookup("api")->reveal(), "one");
  ASSERT_TRUE(*vault->remove("api"));
  ASSERT_FALSE(*vault->remove("api"));
  EXPECT_EQ(lookup("api").error().code, "vault.not_found");
  EXPECT_EQ(seen, (std::vector<std::string>{"set:api", "rotated:", "removed:api"}));
}

TEST_P(VaultStore, ConcurrentReadersWritersAndARotationNeverSeeAWrongValue) {
  VaultDir d(target());
  auto vault = d.open();
  ASSERT_TRUE(vault);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(vault->set("k" + std::to_string(i), Secret("v" + std::to_string(i))).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      int i = t;
      while (!stop.load()) {
        const std::string n = std::to_string(i++ % 8);
        auto r = vault->get("k" + n);
        if (!r || r->reveal() != "v" + n) failures.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 8; ++i) ASSERT_TRUE(vault->set("k" + std::to_string(i), Secret("v" + std::to_string(i))).ok());
    ASSERT_TRUE(vault->rotate_key().ok());
  }
  // Let the readers overlap the writes at least a little, however slow the machine.
  while (reads.load() < 100) std::this_thread::yield();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
