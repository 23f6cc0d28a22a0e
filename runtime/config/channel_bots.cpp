#include "runtime/config/channel_bots.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "runtime/config/config_keys.hpp"

namespace sb::config {

std::string ChannelBotConfig::secret(const std::string& role) const {
  auto it = secrets.find(role);
  return it == secrets.end() ? std::string() : it->second;
}

std::string ChannelBotConfig::setting(const std::string& role) const {
  auto it = settings.find(role);
  return it == settings.end() ? std::string() : it->second;
}

std::string_view to_string(BotMode mode) {
  switch (mode) {
    case BotMode::webhook: return "webhook";
    case BotMode::polling: return "polling";
    case BotMode::gateway: return "gateway";
    case BotMode::socket: return "socket";
  }
  return "webhook";
}

std::optional<BotMode> parse_bot_mode(std::string_view text) {
  for (auto m : {BotMode::webhook, BotMode::polling, BotMode::gateway, BotMode::socket})
    if (text == to_string(m)) return m;
  return std::nullopt;
}

std::string_view bot_mode_platform(BotMode mode) {
  switch (mode) {
    case BotMode::polling: return "telegram";
    case BotMode::gateway: return "discord";
    case BotMode::socket: return "slack";
    case BotMode::webhook: break;
  }
  return "";
}

std::optional<ChannelBotKeys> channel_bot_keys(std::string_view platform) {
  if (platform == "slack") return ChannelBotKeys{{"signing_secret", "bot_token", "app_token"}, {"bot_user_id"}};
  if (platform == "discord") return ChannelBotKeys{{"bot_token"}, {"public_key", "application_id", "intents"}};
  if (platform == "whatsapp")
    return ChannelBotKeys{{"app_secret", "verify_token", "access_token"}, {"phone_number_id", "api_version"}};
  if (platform == "telegram") return ChannelBotKeys{{"secret_token", "bot_token"}, {"username", "poll_timeout_s"}};
  return std::nullopt;
}

namespace detail {

std::string where(const std::string& file, const toml::source_region& src) {
  return fmt::format("{}:{}", file, src.begin.line);
}

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// What each platform cannot work without (webhook mode unless said otherwise).
Status check_required(const ChannelBotConfig& b, const std::string& origin) {
  auto need_secret = [&](const char* role, const char* why) -> Status {
    if (b.secret(role).empty())
      return invalid(fmt::format("channels.{}.{}.{}: missing; {} ({})", b.platform, b.name, role, why, origin));
    return {};
  };
  auto need_setting = [&](const char* role, const char* why) -> Status {
    if (b.setting(role).empty())
      return invalid(fmt::format("channels.{}.{}.{}: missing; {} ({})", b.platform, b.name, role, why, origin));
    return {};
  };
  if (b.mode != BotMode::webhook && b.platform != bot_mode_platform(b.mode))
    return invalid(fmt::format("channels.{}.{}.mode: \"{}\" exists for {} only ({})", b.platform, b.name,
                               to_string(b.mode), bot_mode_platform(b.mode), origin));
  if (b.platform == "slack") {
    if (b.mode == BotMode::socket)
      return need_secret("app_token", "Socket Mode connects with the app-level token (xapp-, connections:write)");
    return need_secret("signing_secret", "it verifies every webhook");
  }
  if (b.platform == "discord") {
    if (b.mode == BotMode::gateway) return need_secret("bot_token", "the Gateway identifies with it");
    return need_setting("public_key", "it verifies every interaction");
  }
  if (b.platform == "whatsapp") {
    if (auto ok = need_secret("app_secret", "it verifies every webhook"); !ok) return ok;
    return need_secret("verify_token", "Meta's subscription check needs it");
  }
  if (b.mode == BotMode::polling) return need_secret("bot_token", "getUpdates needs it");
  return need_secret("secret_token", "it authenticates every webhook (setWebhook secret_token)");
}

}  // namespace

Status apply_channel_bots(Config& config, const toml::node& channels, const std::string& file) {
  const auto* platforms = channels.as_table();
  if (!platforms)
    return invalid(
        fmt::format("channels: expected tables [channels.PLATFORM.NAME] ({})", where(file, channels.source())));
  for (const auto& [pk, pv] : *platforms) {
    const std::string platform(pk.str());
    const auto keys = channel_bot_keys(platform);
    if (!keys)
      return invalid(fmt::format("channels.{}: unknown platform; use slack, discord, whatsapp or telegram ({})",
                                 platform, where(file, pv.source())));
    const auto* bots = pv.as_table();
    if (!bots)
      return invalid(fmt::format("channels.{}: expected tables [channels.{}.NAME] ({})", platform, platform,
                                 where(file, pv.source())));
    for (const auto& [bk, bv] : *bots) {
      ChannelBotConfig bot;
      bot.platform = platform;
      bot.name = std::string(bk.str());
      const std::string origin = where(file, bv.source());
      const auto* t = bv.as_table();
      if (!t) return invalid(fmt::format("channels.{}.{}: expected a table ({})", platform, bot.name, origin));
      if (!route_name_ok(bot.name))
        return invalid(fmt::format("channels.{}.{}: bot names match ^[a-z0-9][a-z0-9_-]{{0,63}}$ ({})", platform,
                                   bot.name, origin));
      for (const auto& [k, v] : *t) {
        const std::string key(k.str());
        const std::string at = where(file, v.source());
        if (key == "enabled") {
          auto b = v.value_exact<bool>();
          if (!b) return invalid(fmt::format("channels.{}.{}.enabled: expected boolean ({})", platform, bot.name, at));
          bot.enabled = *b;
          continue;
        }
        if (key == "intents" && platform == "discord" && v.is_integer()) {
          // A bitmask (37377) or names ("guild_messages, direct_messages"): the Discord
          // adapter checks either at start (channels/discord/intents.hpp).
          auto i = v.value_exact<int64_t>();
          if (!i || *i < 0 || *i > (int64_t{1} << 30))
            return invalid(fmt::format("channels.{}.{}.intents: expected a bitmask 0..2^30 or a list of names ({})",
                                       platform, bot.name, at));
          bot.settings[key] = std::to_string(*i);
          continue;
        }
        if (key == "poll_timeout_s" && platform == "telegram") {
          auto i = v.value_exact<int64_t>();
          if (!i || *i < 0 || *i > 50)
            return invalid(
                fmt::format("channels.{}.{}.poll_timeout_s: expected an integer 0..50 ({})", platform, bot.name, at));
          bot.settings[key] = std::to_string(*i);
          continue;
        }
        auto s = v.value_exact<std::string>();
        const bool known = key == "api_base_url" || key == "mode" || key == "ca_file" || contains(keys->secrets, key) ||
                           contains(keys->settings, key);
        if (!known) return invalid(fmt::format("channels.{}.{}.{}: unknown key ({})", platform, bot.name, key, at));
        if (!s) return invalid(fmt::format("channels.{}.{}.{}: expected string ({})", platform, bot.name, key, at));
        if (key == "api_base_url") {
          if (!(s->starts_with("https://") || s->starts_with("http://")) ||
              s->find_first_of(" \t\r\n") != std::string::npos)
            return invalid(fmt::format("channels.{}.{}.api_base_url: \"{}\" is not an http(s) URL ({})", platform,
                                       bot.name, *s, at));
          bot.api_base_url = *s;
        } else if (key == "mode") {
          auto mode = parse_bot_mode(*s);
          if (!mode)
            return invalid(fmt::format(
                "channels.{}.{}.mode: \"{}\" is not one of webhook, polling (telegram), gateway (discord), socket "
                "(slack) ({})",
                platform, bot.name, *s, at));
          bot.mode = *mode;
        } else if (key == "ca_file") {
          if (s->empty() || s->find('\n') != std::string::npos)
            return invalid(fmt::format("channels.{}.{}.ca_file: expected a file path ({})", platform, bot.name, at));
          bot.ca_file = *s;
        } else if (contains(keys->secrets, key)) {
          if (s->empty())
            return invalid(fmt::format("channels.{}.{}.{}: must name a vault entry ({})", platform, bot.name, key, at));
          bot.secrets[key] = *s;
        } else {
          bot.settings[key] = *s;
        }
      }
      if (auto ok = check_required(bot, origin); !ok) return ok;
      auto same = [&](const ChannelBotConfig& b) { return b.id() == bot.id(); };
      config.channels.erase(std::remove_if(config.channels.begin(), config.channels.end(), same),
                            config.channels.end());
      config.channels.push_back(std::move(bot));
    }
  }
  std::sort(config.channels.begin(), config.channels.end(),
            [](const auto& a, const auto& b) { return a.id() < b.id(); });
  return {};
}

Status check_channel_bots(const Config& config) {
  if (config.outbound.backoff_max_ms < config.outbound.backoff_base_ms)
    return invalid(fmt::format("outbound.backoff_max_ms: {} is below outbound.backoff_base_ms {}",
                               config.outbound.backoff_max_ms, config.outbound.backoff_base_ms));
  return {};
}

std::string channel_bots_toml(const Config& config) {
  auto quote = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    return out + "\"";
  };
  std::string out;
  for (const auto& b : config.channels) {
    out += fmt::format("\n[channels.{}.{}]\nenabled = {}\nmode = {}\n", b.platform, b.name,
                       b.enabled ? "true" : "false", quote(std::string(to_string(b.mode))));
    if (!b.api_base_url.empty()) out += fmt::format("api_base_url = {}\n", quote(b.api_base_url));
    if (!b.ca_file.empty()) out += fmt::format("ca_file = {}\n", quote(b.ca_file));
    for (const auto& [k, v] : b.secrets) out += fmt::format("{} = {}\n", k, quote(v));
    for (const auto& [k, v] : b.settings)
      out += k == "poll_timeout_s" ? fmt::format("{} = {}\n", k, v) : fmt::format("{} = {}\n", k, quote(v));
  }
  return out;
}

}  // namespace detail
}  // namespace sb::config
