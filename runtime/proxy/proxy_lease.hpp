#pragma once
// ProxyLease: one container start's access to the credential proxy (RAII). While it
// lives, its socket accepts connections and its token is valid; destroying it (or
// revoke()) invalidates the token at once, closes the socket and every open
// connection, and removes the socket file.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "runtime/core/secret.hpp"

namespace sb::proxy {

namespace detail {
struct ProxyCore;
}

class ProxyLease {
 public:
  ~ProxyLease() { revoke(); }
  ProxyLease(const ProxyLease&) = delete;
  ProxyLease& operator=(const ProxyLease&) = delete;

  void revoke();  // idempotent
  bool revoked() const { return revoked_; }

  const Secret& token() const { return token_; }
  const std::string& socket_path() const { return socket_path_; }
  const std::string& run_id() const { return run_id_; }
  const std::string& namespace_name() const { return namespace_name_; }
  // The container environment of the contract (lease_env.hpp).
  const std::map<std::string, std::string>& environment() const { return environment_; }

 private:
  friend struct detail::ProxyCore;
  ProxyLease() = default;

  std::weak_ptr<detail::ProxyCore> core_;
  uint64_t id_ = 0;
  Secret token_;
  std::string socket_path_;
  std::string run_id_;
  std::string namespace_name_;
  std::map<std::string, std::string> environment_;
  bool revoked_ = false;
};

}  // namespace sb::proxy
