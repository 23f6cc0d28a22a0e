#pragma once
// TestPki: a throwaway CA and server certificates for loopback TLS tests, made with the
// openssl CLI. Boost-free, so test support compiled apart (fake_ws_server) can use it.
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace sb::test {

// A certificate authority and server certificates made at test time with the
// `openssl` CLI (EC P-256, valid two days) in `dir`:
//   ca_file                     the CA to trust (proxy.ca_file)
//   cert_file / key_file        for localhost and 127.0.0.1, signed by that CA
//   untrusted_cert / _key       the same names, self-signed (no trusted issuer)
//   wrong_host_cert / _key      signed by the CA, but for other.invalid only
struct TestPki {
  std::string ca_file, cert_file, key_file;
  std::string untrusted_cert, untrusted_key;
  std::string wrong_host_cert, wrong_host_key;

  static TestPki generate(const std::string& dir) {
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string q = "cd '" + dir + "' && ";
    auto run = [&](const std::string& cmd) {
      if (std::system((q + cmd + " >/dev/null 2>&1").c_str()) != 0) throw std::runtime_error("openssl failed: " + cmd);
    };
    run("openssl req -x509 " + ec +
        " -keyout ca.key -out ca.pem -days 2 -subj '/CN=squadbox test CA'"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
    auto leaf = [&](const std::string& name, const std::string& cn, const std::string& san) {
      run("openssl req " + ec + " -keyout " + name + ".key -out " + name + ".csr -subj '/CN=" + cn + "'");
      // Braced: run() sends the group's output to /dev/null, the file keeps printf's.
      run("{ printf 'subjectAltName=" + san + "\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > " +
          name + ".ext; }");
      run("openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -out " + name +
          ".pem -days 2 -extfile " + name + ".ext");
    };
    leaf("server", "localhost", "DNS:localhost,IP:127.0.0.1");
    leaf("wronghost", "other.invalid", "DNS:other.invalid");
    run("openssl req -x509 " + ec +
        " -keyout untrusted.key -out untrusted.pem -days 2 -subj '/CN=localhost'"
        " -addext subjectAltName=DNS:localhost,IP:127.0.0.1");
    TestPki p;
    p.ca_file = dir + "/ca.pem";
    p.cert_file = dir + "/server.pem";
    p.key_file = dir + "/server.key";
    p.untrusted_cert = dir + "/untrusted.pem";
    p.untrusted_key = dir + "/untrusted.key";
    p.wrong_host_cert = dir + "/wronghost.pem";
    p.wrong_host_key = dir + "/wronghost.key";
    return p;
  }
};

}  // namespace sb::test
