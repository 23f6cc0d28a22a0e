#pragma once
// Secret: a string that never prints. Logging a Secret writes "[redacted]"; only
// reveal() gives the bytes, so every use of the real value is greppable.
#include <string>
#include <utility>

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

}  // namespace sb
