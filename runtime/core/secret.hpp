#pragma once
// Secret: a string that never prints. Logging a Secret writes "[redacted]"; only
// reveal() gives the bytes, so every use of the real value is greppable.
#include <functional>
#include <string>
#include <utility>

#include "runtime/core/result.hpp"

namespace sb {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  static constexpr const char* redacted = "[redacted]";

 private:
  std::string value_;
};

// Looks a secret up by name (the vault: storage::make_secret_lookup). Ports that need
// credentials take one of these instead of the vault.
using SecretLookup = std::function<Result<Secret>(const std::string& name)>;

}  // namespace sb
