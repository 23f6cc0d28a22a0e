// The Vault on SQLite: the cases of vault_store_cases.hpp (also run on PostgreSQL in
// vault_store_postgres_test.cpp), then what depends on the key file alone: rotation
// crash safety and the options.
#include "tests/storage/vault_store_cases.hpp"

namespace {

INSTANTIATE_TEST_SUITE_P(Sqlite, VaultStore, ::testing::Values(sb::storage::Engine::sqlite), sb::test::engine_name);

// A crash is simulated by stopping rotate_key() at a step and discarding the Vault
// without any cleanup; the next open must land on a key that decrypts every row.
class RotationCrash : public ::testing::TestWithParam<sb::storage::Vault::RotationStop> {};

TEST_P(RotationCrash, TheNextOpenFindsAKeyThatDecryptsEveryRow) {
  VaultDir d;
  std::string old_key, next_key;
  {
    auto vault = d.open();
    ASSERT_TRUE(vault);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(vault->set("s" + std::to_string(i), Secret("v" + std::to_string(i))).ok());
    old_key = d.key_hex();
    auto stopped = vault->rotate_key_until(GetParam());
    ASSERT_FALSE(stopped.ok());
    ASSERT_EQ(stopped.error().code, "vault.test_stop");
    ASSERT_TRUE(sb::security::vault::path_exists(d.key_path + ".next")) << "the crash happens mid-rotation";
    next_key = file_bytes(d.key_path + ".next");
    next_key.pop_back();
    EXPECT_EQ(d.key_hex(), old_key);
  }
  auto vault = d.open();
  ASSERT_TRUE(vault);
  EXPECT_FALSE(sb::security::vault::path_exists(d.key_path + ".next"));
  const bool committed = GetParam() == sb::storage::Vault::RotationStop::after_commit;
  EXPECT_EQ(d.key_hex(), committed ? next_key : old_key);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(vault->get("s" + std::to_string(i))->reveal(), "v" + std::to_string(i));
  vault.reset();
  // The key that is no longer on disk no longer opens the vault.
  auto other = sb::storage::Vault::open(d.options(committed ? old_key : next_key));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "vault.wrong_key");
}

INSTANTIATE_TEST_SUITE_P(Steps, RotationCrash,
                         ::testing::Values(sb::storage::Vault::RotationStop::after_next_key_written,
                                           sb::storage::Vault::RotationStop::before_commit,
                                           sb::storage::Vault::RotationStop::after_commit),
                         [](const auto& info) {
                           switch (info.param) {
                             case sb::storage::Vault::RotationStop::after_next_key_written:
                               return std::string("AfterNextKey");
                             case sb::storage::Vault::RotationStop::before_commit: return std::string("BeforeCommit");
                             case sb::storage::Vault::RotationStop::after_commit: return std::string("AfterCommit");
                           }
                           return std::string("Unknown");
                         });

TEST(VaultOptions, ComeFromTheConfigAndTheEnvironment) {
  sb::config::Config c;
  c.node.data_dir = "/srv/sq";
  auto o = sb::storage::vault_options(c, {});
  EXPECT_EQ(o.key_file, "/srv/sq/vault.key");
  EXPECT_EQ(o.db_path, "/srv/sq/squadbox.db");
  EXPECT_FALSE(o.env_key.has_value());
  c.security.vault_key_file = "/etc/squadbox/vault.key";
  o = sb::storage::vault_options(c, {{"SQUADBOX_VAULT_KEY", std::string(64, 'a')}});
  EXPECT_EQ(o.key_file, "/etc/squadbox/vault.key");
  ASSERT_TRUE(o.env_key.has_value());
  EXPECT_EQ(o.env_key->reveal(), std::string(64, 'a'));
  o = sb::storage::vault_options(c, {{"SQUADBOX_VAULT_KEY", ""}});
  EXPECT_FALSE(o.env_key.has_value()) << "an empty variable means unset";
}

}  // namespace
