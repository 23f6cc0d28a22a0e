// The cluster CA and node certificates: what `squadbox cluster ca init` and `cluster cert
// issue` write must verify as a chain for both TLS ends, name the node, keep keys private
// and never overwrite anything.
#include "runtime/security/pki/cluster_pki.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "runtime/core/fs.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::security::pki {
namespace {

using namespace std::chrono_literals;

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};

std::unique_ptr<X509, X509Free> load_cert(const std::string& path) {
  auto pem = read_file(path);
  if (!pem) return nullptr;
  BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

// X509_V_OK if `leaf` chains to `ca` for this TLS purpose.
int verify(const std::string& ca, const std::string& leaf, int purpose) {
  auto ca_cert = load_cert(ca);
  auto leaf_cert = load_cert(leaf);
  if (!ca_cert || !leaf_cert) return -1;
  std::unique_ptr<X509_STORE, X509Free> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca_cert.get());
  std::unique_ptr<X509_STORE_CTX, X509Free> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf_cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  X509_verify_cert(ctx.get());
  return X509_STORE_CTX_get_error(ctx.get());
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

TEST(ClusterPki, ANodeCertificateChainsToTheCaForBothTlsEndsAndNamesTheNode) {
  test::TempDir dir;
  const std::string ca_dir = dir.file("ca");
  auto ca = init_ca(ca_dir);
  ASSERT_TRUE(ca) << ca.error().message;
  EXPECT_EQ(ca->cert_file, ca_dir + "/ca.crt");
  EXPECT_EQ(mode_of(ca->key_file), 0600u);
  EXPECT_EQ(mode_of(ca_dir), 0700u);
  auto node = issue_node_cert(ca_dir, "node-a", {"node-a.cluster.internal", "10.0.0.7", "::1"});
  ASSERT_TRUE(node) << node.error().message;
  EXPECT_EQ(node->cert_file, ca_dir + "/node-a.crt");
  EXPECT_EQ(mode_of(node->key_file), 0600u);
  EXPECT_EQ(mode_of(node->cert_file), 0644u);

  EXPECT_EQ(verify(ca->cert_file, node->cert_file, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_EQ(verify(ca->cert_file, node->cert_file, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  auto cert = load_cert(node->cert_file);
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_check_host(cert.get(), "node-a", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "node-a.cluster.internal", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.0.0.7", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_NE(X509_check_host(cert.get(), "node-b", 0, 0, nullptr), 1);
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "node-a");
  // The CA signs node certificates only: a node certificate cannot sign another.
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  auto ca_cert = load_cert(ca->cert_file);
  EXPECT_NE(X509_check_ca(ca_cert.get()), 0);
}

TEST(ClusterPki, ACertificateOfAnotherCaDoesNotVerify) {
  test::TempDir dir;
  ASSERT_TRUE(init_ca(dir.file("ours")));
  ASSERT_TRUE(init_ca(dir.file("theirs")));
  auto stranger = issue_node_cert(dir.file("theirs"), "node-x");
  ASSERT_TRUE(stranger) << stranger.error().message;
  EXPECT_NE(verify(dir.file("ours") + "/ca.crt", stranger->cert_file, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
}

TEST(ClusterPki, NodeCredentialsAreCheckedBeforeAnyHandshake) {
  test::TempDir dir;
  const std::string ours = dir.file("ours"), theirs = dir.file("theirs");
  ASSERT_TRUE(init_ca(ours));
  ASSERT_TRUE(init_ca(theirs));
  auto a = issue_node_cert(ours, "node-a");
  auto b = issue_node_cert(ours, "node-b");
  auto x = issue_node_cert(theirs, "node-x");
  ASSERT_TRUE(a && b && x);
  auto id = check_node_credentials(a->cert_file, a->key_file, ours + "/ca.crt");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->common_name, "node-a");
  EXPECT_FALSE(id->not_after.empty());

  EXPECT_EQ(check_node_credentials(x->cert_file, x->key_file, ours + "/ca.crt").error().code, kUntrusted);
  EXPECT_EQ(check_node_credentials(a->cert_file, b->key_file, ours + "/ca.crt").error().code, kKeyMismatch);
  EXPECT_EQ(check_node_credentials(a->cert_file, a->key_file, dir.file("none.crt")).error().code, kUnreadable);
  EXPECT_EQ(check_node_credentials(a->key_file, a->key_file, ours + "/ca.crt").error().code, kUnreadable);
  ASSERT_EQ(::chmod(a->key_file.c_str(), 0640), 0);
  auto exposed = check_node_credentials(a->cert_file, a->key_file, ours + "/ca.crt");
  ASSERT_FALSE(exposed);
  EXPECT_EQ(exposed.error().code, kKeyMode);
  EXPECT_NE(exposed.error().message.find(a->key_file), std::string::npos);
}

TEST(ClusterPki, NothingIsEverOverwritten) {
  test::TempDir dir;
  const std::string ca_dir = dir.file("ca");
  ASSERT_TRUE(init_ca(ca_dir));
  const auto ca_before = read_file(ca_dir + "/ca.crt");
  auto again = init_ca(ca_dir);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, kExists);
  EXPECT_EQ(read_file(ca_dir + "/ca.crt").value(), ca_before.value());

  ASSERT_TRUE(issue_node_cert(ca_dir, "node-a"));
  const auto key_before = read_file(ca_dir + "/node-a.key");
  auto twice = issue_node_cert(ca_dir, "node-a");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, kExists);
  EXPECT_EQ(read_file(ca_dir + "/node-a.key").value(), key_before.value());
}

TEST(ClusterPki, BadNamesAndAMissingOrMismatchedCaAreRefused) {
  test::TempDir dir;
  const std::string ca_dir = dir.file("ca");
  ASSERT_TRUE(init_ca(ca_dir));
  for (const char* bad : {"", "Node-A", "-a", "a-", "a.b", "../x", "a b", "node,DNS:evil"}) {
    auto r = issue_node_cert(ca_dir, bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, kBadName) << bad;
  }
  EXPECT_EQ(issue_node_cert(ca_dir, std::string(64, 'a')).error().code, kBadName);
  // An alt name must not smuggle OpenSSL extension syntax into the certificate.
  EXPECT_EQ(issue_node_cert(ca_dir, "node-a", {"x,DNS:evil.example"}).error().code, kBadName);
  EXPECT_EQ(issue_node_cert(ca_dir, "node-a", {"email:me@example.org"}).error().code, kBadName);
  EXPECT_FALSE(std::filesystem::exists(ca_dir + "/node-a.crt"));

  EXPECT_EQ(issue_node_cert(dir.file("nowhere"), "node-a").error().code, kNoCa);
  // A CA key that is not the CA certificate's.
  ASSERT_TRUE(init_ca(dir.file("other")));
  std::filesystem::copy_file(dir.file("other") + "/ca.key", ca_dir + "/ca.key",
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_EQ(issue_node_cert(ca_dir, "node-b").error().code, kNoCa);
}

}  // namespace
}  // namespace sb::security::pki
