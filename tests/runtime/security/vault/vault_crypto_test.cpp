// Pure vault pieces: secret names, key parsing, sealing with the name bound in.
#include "runtime/security/vault/vault_crypto.hpp"

#include <gtest/gtest.h>

#include "runtime/security/vault/secure_key.hpp"

namespace {

using sb::Secret;
using sb::security::vault::SecureKey;

TEST(SecretName, FollowsThePattern) {
  for (const char* ok : {"a", "A", "0", "anthropic", "slack.bot-token_2", "x-"})
    EXPECT_TRUE(sb::security::vault::valid_secret_name(ok)) << ok;
  EXPECT_TRUE(sb::security::vault::valid_secret_name(std::string(128, 'z')));
  for (const char* bad : {"", "-a", "_a", ".a", "a b", "a/b", "a:b", "a\nb", "a%2Fb", "é"})
    EXPECT_FALSE(sb::security::vault::valid_secret_name(bad)) << bad;
  EXPECT_FALSE(sb::security::vault::valid_secret_name(std::string(129, 'z')));
  EXPECT_FALSE(sb::security::vault::valid_secret_name(std::string("a\0b", 3)));
}

TEST(SecureKey, ParsesExactly64HexDigits) {
  const std::string hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  auto key = SecureKey::from_hex(hex + "\n");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->data()[0], 0x00);
  EXPECT_EQ(key->data()[31], 0x1f);
  char out[SecureKey::kHexChars + 1];
  key->write_hex(out);
  EXPECT_EQ(std::string(out), hex);
  for (std::string bad : {std::string(), hex.substr(1), hex + "0", hex.substr(0, 63) + "x", hex.substr(0, 62) + " 0"}) {
    auto r = SecureKey::from_hex(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "vault.bad_key");
    if (!bad.empty()) {
      EXPECT_EQ(r.error().message.find(bad), std::string::npos) << "error echoes the key";
    }
  }
}

TEST(SecureKey, FreshKeysDifferAndCompareInConstantTime) {
  auto a = SecureKey::generate();
  auto b = SecureKey::generate();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(a->equals(*b));
  char hex[SecureKey::kHexChars + 1];
  a->write_hex(hex);
  auto a2 = SecureKey::from_hex(hex);
  ASSERT_TRUE(a2.ok());
  EXPECT_TRUE(a->equals(*a2));
  SecureKey moved = std::move(*a2);
  EXPECT_TRUE(moved.equals(*a));
}

TEST(Seal, RoundTripsWithAFreshNonceEachTime) {
  auto key = SecureKey::generate();
  ASSERT_TRUE(key.ok());
  auto one = sb::security::vault::seal(*key, "name", Secret("value"));
  auto two = sb::security::vault::seal(*key, "name", Secret("value"));
  EXPECT_EQ(one.nonce.size(), 24u);
  EXPECT_EQ(one.ciphertext.size(), 5u + 16u);
  EXPECT_NE(one.nonce, two.nonce);
  EXPECT_NE(one.ciphertext, two.ciphertext);
  EXPECT_EQ(one.ciphertext.find("value"), std::string::npos);
  auto back = sb::security::vault::unseal(*key, "name", one.ciphertext, one.nonce);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->reveal(), "value");
}

TEST(Seal, TheNameIsBoundAsAssociatedData) {
  auto key = SecureKey::generate();
  auto other = SecureKey::generate();
  ASSERT_TRUE(key.ok() && other.ok());
  auto sealed = sb::security::vault::seal(*key, "alpha", Secret("secret"));
  EXPECT_EQ(sb::security::vault::unseal(*key, "beta", sealed.ciphertext, sealed.nonce).error().code, "vault.decrypt");
  EXPECT_EQ(sb::security::vault::unseal(*other, "alpha", sealed.ciphertext, sealed.nonce).error().code,
            "vault.decrypt");
  std::string flipped = sealed.ciphertext;
  flipped[0] = static_cast<char>(flipped[0] ^ 1);
  EXPECT_FALSE(sb::security::vault::unseal(*key, "alpha", flipped, sealed.nonce).ok());
  std::string nonce = sealed.nonce;
  nonce[23] = static_cast<char>(nonce[23] ^ 1);
  EXPECT_FALSE(sb::security::vault::unseal(*key, "alpha", sealed.ciphertext, nonce).ok());
  EXPECT_FALSE(sb::security::vault::unseal(*key, "alpha", sealed.ciphertext, sealed.nonce.substr(1)).ok());
  EXPECT_FALSE(sb::security::vault::unseal(*key, "alpha", sealed.ciphertext.substr(0, 10), sealed.nonce).ok());
  EXPECT_FALSE(sb::security::vault::unseal(*key, "alpha", "", sealed.nonce).ok());
}

}  // namespace
