#pragma once
// Inside the configuration library only: the table of flat keys (config_keys.cpp) that
// the TOML reader (config_toml.cpp) and the loader (config_load.cpp) share.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/config/config.hpp"

namespace sb::config::detail {

struct KeyDef {
  KeyInfo info;
  int64_t min = 0, max = 0;          // integers
  std::vector<std::string> choices;  // enumerated strings
  std::function<void(Config&, const Value&)> set;
  std::function<Value(const Config&)> get;
};

// Every flat key, in documentation order.
const std::vector<KeyDef>& defs();
const KeyDef* find(std::string_view section, std::string_view key);
bool known_section(std::string_view section);
std::string kind_name(Kind k);
Error invalid(std::string message);  // "config.invalid"
// Range / choice checks shared by the file and the environment.
Status validate(const KeyDef& d, const Value& v, const std::string& origin);

// The TOML file (config_toml.cpp): every section, `[proxy.routes.NAME]`, `[channels]`.
Status apply_file(Config& config, const std::string& file);

// Cross-bot rules (channel_bots.cpp; run after the file and the environment).
Status check_channel_bots(const Config& config);

}  // namespace sb::config::detail
