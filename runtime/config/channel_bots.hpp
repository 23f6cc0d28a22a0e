#pragma once
// `[channels.PLATFORM.NAME]` tables: parsed and validated here, kept out of config_keys.cpp's
// flat key table because each bot is a named table with per-platform keys.
#include <string>

#include <toml++/toml.h>

#include "runtime/config/config.hpp"

namespace sb::config::detail {

// "file:line" of a TOML node, for error messages.
std::string where(const std::string& file, const toml::source_region& src);

// Adds every bot under the `[channels]` node; errors name the key and file:line.
Status apply_channel_bots(Config& config, const toml::node& channels, const std::string& file);

// The bots as TOML, for `config show`.
std::string channel_bots_toml(const Config& config);

}  // namespace sb::config::detail
