#pragma once
// `[channels.PLATFORM.NAME]` tables: parsed and validated here, kept out of config.cpp's
// flat key table because each bot is a named table with per-platform keys.
#include <string>

#include <toml++/toml.h>

#include "runtime/config/config.hpp"

namespace sb::config::detail {

// Adds every bot under the `[channels]` node; errors name the key and file:line.
Status apply_channel_bots(Config& config, const toml::node& channels, const std::string& file);

// Cross-bot rules (run after the file and the environment).
Status check_channel_bots(const Config& config);

// The bots as TOML, for `config show`.
std::string channel_bots_toml(const Config& config);

}  // namespace sb::config::detail
