#include "runtime/security/pki/cluster_pki.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <system_error>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "runtime/core/fs.hpp"

namespace sb::security::pki {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
template <class T>
using Owned = std::unique_ptr<T, Free>;

// OpenSSL's reason for the last failure (its error queue, emptied).
Error crypto_error(const std::string& what) {
  std::string reason;
  for (unsigned long e; (e = ERR_get_error()) != 0;) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!reason.empty()) reason += "; ";
    reason += buf;
  }
  return make_error(std::string(kCryptoFailed), what + (reason.empty() ? "" : ": " + reason));
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// A DNS name: labels of [A-Za-z0-9-] joined by dots, at most 253 characters. Also keeps
// OpenSSL's extension syntax (commas, colons) out of the subjectAltName we build.
bool is_dns_name(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.back() == '.') return false;
  size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || ++label > 63) return false;
  }
  return true;
}

Result<Owned<EVP_PKEY>> new_key() {
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return crypto_error("generating an EC P-256 key");
  return key;
}

Status add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return crypto_error("certificate extension " + value);
  return {};
}

// A certificate for `key` named `cn`, valid from five minutes ago (clock skew between
// nodes) for `validity`, with a random 127-bit serial. Self-signed when issuer is null.
Result<Owned<X509>> new_cert(EVP_PKEY* key, const std::string& cn, std::chrono::hours validity, X509* issuer) {
  Owned<X509> cert(X509_new());
  Owned<BIGNUM> serial(BN_new());
  if (!cert || !serial || X509_set_version(cert.get(), 2) != 1 ||
      BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ||
      !X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                       static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(validity).count())) ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return crypto_error("making a certificate");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name) != 1) {
    return crypto_error("certificate names");
  }
  return cert;
}

Result<std::string> pem_of(const std::function<int(BIO*)>& write) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return crypto_error("writing PEM");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// Writes the key (0600) and then the certificate (0644), neither over an existing file.
Result<CertFiles> write_pair(const std::string& dir, const std::string& stem, EVP_PKEY* key, X509* cert) {
  CertFiles files{dir + "/" + stem + ".crt", dir + "/" + stem + ".key"};
  std::error_code ec;
  for (const auto& f : {files.cert_file, files.key_file}) {
    if (std::filesystem::exists(f, ec)) {
      return make_error(std::string(kExists), f + " exists; nothing was written (remove it first to replace it)");
    }
  }
  auto key_pem =
      pem_of([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  if (!key_pem) return key_pem.error();
  auto cert_pem = pem_of([&](BIO* b) { return PEM_write_bio_X509(b, cert); });
  if (!cert_pem) return cert_pem.error();
  AtomicWriteOptions key_opts;
  key_opts.mode = 0600;
  key_opts.replace = false;
  if (auto st = write_file_atomic(files.key_file, *key_pem, key_opts); !st) {
    return make_error(std::string(st.error().code == "fs.exists" ? kExists : kWriteFailed), st.error().message);
  }
  AtomicWriteOptions cert_opts = key_opts;
  cert_opts.mode = 0644;
  if (auto st = write_file_atomic(files.cert_file, *cert_pem, cert_opts); !st) {
    std::filesystem::remove(files.key_file, ec);  // all or nothing
    return make_error(std::string(st.error().code == "fs.exists" ? kExists : kWriteFailed), st.error().message);
  }
  return files;
}

Status ensure_dir(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(std::string(kWriteFailed), "creating " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  return {};
}

}  // namespace

Status validate_node_name(std::string_view node) {
  const bool ok = !node.empty() && node.size() <= 63 && node.front() != '-' && node.back() != '-' &&
                  node.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string_view::npos;
  if (ok) return {};
  return make_error(std::string(kBadName), "node name \"" + std::string(node) +
                                               "\": 1-63 characters of a-z, 0-9 and '-', not starting or ending "
                                               "with '-'");
}

Result<CertFiles> init_ca(const std::string& dir, std::string_view common_name, std::chrono::hours validity) {
  if (common_name.empty()) return make_error(std::string(kBadName), "the CA needs a name");
  if (auto st = ensure_dir(dir); !st) return st.error();
  auto key = new_key();
  if (!key) return key.error();
  auto cert = new_cert(key->get(), std::string(common_name), validity, nullptr);
  if (!cert) return cert.error();
  X509* c = cert->get();
  if (auto st = add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"); !st) return st.error();
  if (auto st = add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign"); !st) return st.error();
  if (auto st = add_ext(c, c, NID_subject_key_identifier, "hash"); !st) return st.error();
  if (X509_sign(c, key->get(), EVP_sha256()) <= 0) return crypto_error("signing the CA certificate");
  return write_pair(dir, "ca", key->get(), c);
}

Result<CertFiles> issue_node_cert(const std::string& ca_dir, std::string_view node,
                                  const std::vector<std::string>& alt_names, std::chrono::hours validity) {
  if (auto st = validate_node_name(node); !st) return st.error();
  std::string san = "DNS:" + std::string(node);
  for (const auto& n : alt_names) {
    if (is_ip(n)) {
      san += ",IP:" + n;
    } else if (is_dns_name(n)) {
      san += ",DNS:" + n;
    } else {
      return make_error(std::string(kBadName), "\"" + n + "\" is neither a DNS name nor an IP address");
    }
  }
  auto ca_pem = read_file(ca_dir + "/ca.crt");
  auto ca_key_pem = read_file(ca_dir + "/ca.key");
  if (!ca_pem || !ca_key_pem) {
    return make_error(std::string(kNoCa),
                      "no CA in " + ca_dir + " (ca.crt and ca.key; `squadbox cluster ca init " + ca_dir +
                          "` makes one): " + (!ca_pem ? ca_pem.error().message : ca_key_pem.error().message));
  }
  Owned<BIO> cb(BIO_new_mem_buf(ca_pem->data(), static_cast<int>(ca_pem->size())));
  Owned<BIO> kb(BIO_new_mem_buf(ca_key_pem->data(), static_cast<int>(ca_key_pem->size())));
  Owned<X509> ca(cb ? PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr) : nullptr);
  Owned<EVP_PKEY> ca_key(kb ? PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!ca || !ca_key) return make_error(std::string(kNoCa), crypto_error("reading the CA in " + ca_dir).message);
  if (X509_check_private_key(ca.get(), ca_key.get()) != 1) {
    ERR_clear_error();
    return make_error(std::string(kNoCa), ca_dir + "/ca.key is not the key of " + ca_dir + "/ca.crt");
  }
  auto key = new_key();
  if (!key) return key.error();
  auto cert = new_cert(key->get(), std::string(node), validity, ca.get());
  if (!cert) return cert.error();
  X509* c = cert->get();
  if (auto st = add_ext(c, ca.get(), NID_basic_constraints, "critical,CA:FALSE"); !st) return st.error();
  if (auto st = add_ext(c, ca.get(), NID_key_usage, "critical,digitalSignature"); !st) return st.error();
  if (auto st = add_ext(c, ca.get(), NID_ext_key_usage, "serverAuth,clientAuth"); !st) return st.error();
  if (auto st = add_ext(c, ca.get(), NID_subject_alt_name, san); !st) return st.error();
  if (auto st = add_ext(c, ca.get(), NID_authority_key_identifier, "keyid:always"); !st) return st.error();
  if (X509_sign(c, ca_key.get(), EVP_sha256()) <= 0) return crypto_error("signing the node certificate");
  return write_pair(ca_dir, std::string(node), key->get(), c);
}

Result<NodeIdentity> check_node_credentials(const std::string& cert_file, const std::string& key_file,
                                            const std::string& ca_file) {
  auto load = [](const std::string& file, const char* what) -> Result<std::string> {
    auto text = read_file(file);
    if (!text)
      return make_error(std::string(kUnreadable), std::string(what) + " " + file + ": " + text.error().message);
    return text;
  };
  auto cert_pem = load(cert_file, "certificate");
  if (!cert_pem) return cert_pem.error();
  auto key_pem = load(key_file, "key");
  if (!key_pem) return key_pem.error();
  auto ca_pem = load(ca_file, "CA");
  if (!ca_pem) return ca_pem.error();
  struct stat st {};
  if (::stat(key_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    return make_error(std::string(kKeyMode), "key " + key_file + " is readable by group or others (chmod 600)");
  auto parse_cert = [](const std::string& pem) {
    Owned<BIO> b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    return Owned<X509>(b ? PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr) : nullptr);
  };
  Owned<X509> cert = parse_cert(*cert_pem);
  if (!cert) return make_error(std::string(kUnreadable), "certificate " + cert_file + " is not a PEM certificate");
  Owned<X509> ca = parse_cert(*ca_pem);
  if (!ca) return make_error(std::string(kUnreadable), "CA " + ca_file + " is not a PEM certificate");
  Owned<BIO> kb(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  Owned<EVP_PKEY> key(kb ? PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr) : nullptr);
  ERR_clear_error();
  if (!key) return make_error(std::string(kUnreadable), "key " + key_file + " is not a PEM private key");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return make_error(std::string(kKeyMismatch), "key " + key_file + " does not belong to " + cert_file);
  }
  Owned<X509_STORE> store(X509_STORE_new());
  Owned<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1)
    return crypto_error("verifying " + cert_file);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int code = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return make_error(std::string(kUntrusted), "certificate " + cert_file + " does not verify against " + ca_file +
                                                   ": " + X509_verify_cert_error_string(code));
  }
  NodeIdentity id;
  char cn[256] = {};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn) > 0)
    id.common_name = cn;
  Owned<BIO> out(BIO_new(BIO_s_mem()));
  if (out && ASN1_TIME_print(out.get(), X509_get0_notAfter(cert.get())) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(out.get(), &data);
    id.not_after.assign(data, static_cast<size_t>(n));
  }
  return id;
}

Result<std::string> certificate_sha256(const std::string& cert_file) {
  auto pem = read_file(cert_file);
  if (!pem) return make_error(std::string(kUnreadable), "certificate " + cert_file + ": " + pem.error().message);
  Owned<BIO> b(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  Owned<X509> cert(b ? PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) {
    ERR_clear_error();
    return make_error(std::string(kUnreadable), "certificate " + cert_file + " is not a PEM certificate");
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert.get(), EVP_sha256(), digest, &n) != 1) return crypto_error("hashing " + cert_file);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}

}  // namespace sb::security::pki
