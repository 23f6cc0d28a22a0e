#pragma once
// A private certificate authority and node certificates for the mutual TLS between
// cluster nodes (docs/cluster.md, "Certificates"), for small deployments and tests: what
// `squadbox cluster ca init DIR` and `squadbox cluster cert issue NODE --ca DIR` write.
//
// Keys are EC P-256 (what CAF's OpenSSL transport and TLS 1.3 negotiate fastest), written
// PEM (PKCS#8, unencrypted) with mode 0600; certificates PEM, mode 0644. The CA is
// CA:TRUE with pathlen 0 (it signs node certificates only). A node certificate names the
// node in its subject CN and as a DNS subjectAltName (the identity a peer checks against
// the membership table), plus any extra names or IP addresses it is reached by, and may
// be used for both ends of a connection (serverAuth and clientAuth). Nothing is ever
// overwritten: an existing file is pki.exists, and the command writes nothing.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"

namespace sb::security::pki {

inline constexpr std::string_view kExists = "pki.exists";             // a file it would write is there
inline constexpr std::string_view kBadName = "pki.bad_name";          // a node name or alt name refused
inline constexpr std::string_view kNoCa = "pki.no_ca";                // the CA files are missing or unreadable
inline constexpr std::string_view kCryptoFailed = "pki.crypto";       // OpenSSL refused (with its reason)
inline constexpr std::string_view kWriteFailed = "pki.write_failed";  // the directory or a file
inline constexpr std::string_view kUnreadable = "pki.unreadable";     // a credential file missing or not PEM
inline constexpr std::string_view kKeyMode = "pki.key_mode";          // the key is readable by group or others
inline constexpr std::string_view kKeyMismatch = "pki.key_mismatch";  // the key is not the certificate's
inline constexpr std::string_view kUntrusted = "pki.untrusted";       // not signed by the CA, or expired

struct CertFiles {
  std::string cert_file;
  std::string key_file;
};

// DIR/ca.crt and DIR/ca.key (DIR is created, mode 0700, if missing).
Result<CertFiles> init_ca(const std::string& dir, std::string_view common_name = "squadbox cluster CA",
                          std::chrono::hours validity = std::chrono::hours(24 * 3650));

// DIR/NODE.crt and DIR/NODE.key, signed by DIR/ca.crt + DIR/ca.key. `alt_names` are more
// DNS names or IP addresses (v4 or v6) the node is reached by.
Result<CertFiles> issue_node_cert(const std::string& ca_dir, std::string_view node,
                                  const std::vector<std::string>& alt_names = {},
                                  std::chrono::hours validity = std::chrono::hours(24 * 825));

// What a node's own credentials say about it, once they are found usable.
struct NodeIdentity {
  std::string common_name;  // the certificate's subject CN (the node name it was issued to)
  std::string not_after;    // expiry, e.g. "Mar  1 12:00:00 2029 GMT"
};

// Checks, before the node opens its cluster listener, what a peer would otherwise find out
// one handshake at a time: both files parse, the key is not readable by group or others,
// the key belongs to the certificate, and the certificate verifies against `ca_file` now.
Result<NodeIdentity> check_node_credentials(const std::string& cert_file, const std::string& key_file,
                                            const std::string& ca_file);

// The SHA-256 of the first certificate in `cert_file` (DER), as 64 hex digits: how the
// nodes of a cluster tell that they were given the same CA.
Result<std::string> certificate_sha256(const std::string& cert_file);

// A node name: 1-63 characters of [a-z0-9-], starting and ending with a letter or digit
// (a DNS label, so it is a valid name in the certificate and a file name in DIR).
Status validate_node_name(std::string_view node);

}  // namespace sb::security::pki
