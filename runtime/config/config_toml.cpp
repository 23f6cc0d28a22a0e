#include <cctype>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "runtime/config/channel_bots.hpp"
#include "runtime/config/config_keys.hpp"

// The TOML side of the configuration: reading a file (toml++) and `config show`.
namespace sb::config {
namespace detail {
namespace {

Result<Value> from_toml(const KeyDef& d, const toml::node& n, const std::string& origin) {
  switch (d.info.kind) {
    case Kind::integer:
      if (auto i = n.value_exact<int64_t>()) return Value{*i};
      break;
    case Kind::string:
      if (auto s = n.value_exact<std::string>()) return Value{*s};
      break;
    case Kind::boolean:
      if (auto b = n.value_exact<bool>()) return Value{*b};
      break;
  }
  std::ostringstream got;
  got << n.type();
  return invalid(
      fmt::format("{}: expected {}, got {} ({})", d.info.dotted(), kind_name(d.info.kind), got.str(), origin));
}

Result<std::string> route_string(const toml::table& t, const std::string& name, const char* key,
                                 const std::string& file, bool required) {
  const toml::node* n = t.get(key);
  if (!n) {
    if (required) return invalid(fmt::format("proxy.routes.{}.{}: missing ({})", name, key, where(file, t.source())));
    return std::string();
  }
  auto v = n->value_exact<std::string>();
  if (!v) return invalid(fmt::format("proxy.routes.{}.{}: expected string ({})", name, key, where(file, n->source())));
  return *v;
}

// True for an HTTP header field name (RFC 9110 token).
bool header_name_ok(const std::string& h) {
  if (h.empty()) return false;
  for (unsigned char c : h)
    if (!(std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos))
      return false;
  return true;
}

// `[proxy.routes.NAME]` tables: upstream, header, scheme, secret, namespaces.
Status apply_routes(Config& config, const toml::node& node, const std::string& file) {
  const auto* routes = node.as_table();
  if (!routes)
    return invalid(fmt::format("proxy.routes: expected tables [proxy.routes.NAME] ({})", where(file, node.source())));
  for (const auto& [rk, rv] : *routes) {
    std::string name(rk.str());
    const auto* t = rv.as_table();
    std::string origin = where(file, rv.source());
    if (!t) return invalid(fmt::format("proxy.routes.{}: expected a table ({})", name, origin));
    if (!route_name_ok(name))
      return invalid(fmt::format("proxy.routes.{}: route names match ^[a-z0-9][a-z0-9_-]{{0,63}}$ ({})", name, origin));
    for (const auto& [k, v] : *t) {
      std::string ks(k.str());
      if (ks != "upstream" && ks != "header" && ks != "scheme" && ks != "secret" && ks != "namespaces")
        return invalid(fmt::format("proxy.routes.{}.{}: unknown key ({})", name, ks, where(file, v.source())));
    }
    ProxyRoute r;
    auto upstream = route_string(*t, name, "upstream", file, true);
    if (!upstream) return upstream.error();
    r.upstream = *upstream;
    if (!(r.upstream.starts_with("https://") || r.upstream.starts_with("http://")) ||
        r.upstream.find_first_of(" \t\r\n") != std::string::npos)
      return invalid(
          fmt::format("proxy.routes.{}.upstream: \"{}\" is not an http(s) URL ({})", name, r.upstream, origin));
    auto header = route_string(*t, name, "header", file, false);
    if (!header) return header.error();
    if (!header->empty()) r.header = *header;
    if (!header_name_ok(r.header))
      return invalid(fmt::format("proxy.routes.{}.header: \"{}\" is not a header name ({})", name, r.header, origin));
    auto scheme = route_string(*t, name, "scheme", file, false);
    if (!scheme) return scheme.error();
    r.scheme = *scheme;
    if (!r.scheme.empty() && !header_name_ok(r.scheme))
      return invalid(fmt::format("proxy.routes.{}.scheme: \"{}\" is not an auth scheme ({})", name, r.scheme, origin));
    // Optional: a route without a secret forwards no credential (a local model server
    // that needs no key); present, it must name a vault entry.
    if (t->contains("secret")) {
      auto secret = route_string(*t, name, "secret", file, true);
      if (!secret) return secret.error();
      if (secret->empty())
        return invalid(
            fmt::format("proxy.routes.{}.secret: must not be empty; leave it out for a route that sends "
                        "no credential ({})",
                        name, origin));
      r.secret = *secret;
    }
    if (const toml::node* ns = t->get("namespaces")) {
      const auto* arr = ns->as_array();
      if (!arr)
        return invalid(fmt::format("proxy.routes.{}.namespaces: expected an array of strings ({})", name,
                                   where(file, ns->source())));
      for (const auto& e : *arr) {
        auto s = e.value_exact<std::string>();
        if (!s)
          return invalid(fmt::format("proxy.routes.{}.namespaces: expected an array of strings ({})", name,
                                     where(file, e.source())));
        r.namespaces.push_back(*s);
      }
    }
    config.proxy.routes[name] = std::move(r);
  }
  return {};
}

// A TOML basic string ("..."), escaped.
std::string toml_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04X}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

}  // namespace

Status apply_file(Config& config, const std::string& file) {
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    return invalid(fmt::format("{}: {}", where(file, e.source()), e.description()));
  }
  for (const auto& [section, node] : root) {
    std::string sec(section.str());
    if (sec == "channels") {
      if (auto ok = apply_channel_bots(config, node, file); !ok) return ok.error();
      continue;
    }
    const auto* table = node.as_table();
    if (!table) {
      if (known_section(sec))
        return invalid(fmt::format("{}: expected a table [{}] ({})", sec, sec, where(file, node.source())));
      return invalid(fmt::format("{}: unknown key ({})", sec, where(file, node.source())));
    }
    if (!known_section(sec)) return invalid(fmt::format("[{}]: unknown section ({})", sec, where(file, node.source())));
    for (const auto& [key, value] : *table) {
      if (sec == "proxy" && key.str() == "routes") {
        if (auto ok = apply_routes(config, value, file); !ok) return ok.error();
        continue;
      }
      const KeyDef* d = find(sec, key.str());
      std::string origin = where(file, value.source());
      if (!d) return invalid(fmt::format("{}.{}: unknown key ({})", sec, key.str(), origin));
      auto v = from_toml(*d, value, origin);
      if (!v) return v.error();
      if (auto ok = validate(*d, *v, origin); !ok) return ok.error();
      d->set(config, *v);
    }
  }
  return {};
}

}  // namespace detail

using detail::defs;

std::string to_toml(const Config& config) {
  std::string out;
  std::string section;
  for (const auto& d : defs()) {
    if (d.info.section != section) {
      section = d.info.section;
      out += fmt::format("{}[{}]\n", out.empty() ? "" : "\n", section);
    }
    Value v = d.get(config);
    if (auto* s = std::get_if<std::string>(&v)) {
      out += fmt::format("{} = {}\n", d.info.key, detail::toml_quote(*s));
    } else if (auto* i = std::get_if<int64_t>(&v)) {
      out += fmt::format("{} = {}\n", d.info.key, *i);
    } else {
      out += fmt::format("{} = {}\n", d.info.key, std::get<bool>(v) ? "true" : "false");
    }
  }
  for (const auto& [name, r] : config.proxy.routes) {
    out += fmt::format("\n[proxy.routes.{}]\nupstream = {}\nheader = {}\nscheme = {}\n", name,
                       detail::toml_quote(r.upstream), detail::toml_quote(r.header), detail::toml_quote(r.scheme));
    // A keyless route has no `secret` (an empty one is refused on load: the config fuzzer
    // found `config show` output that did not load again).
    if (!r.secret.empty()) out += "secret = " + detail::toml_quote(r.secret) + "\n";
    out += "namespaces = [";
    for (size_t i = 0; i < r.namespaces.size(); ++i) out += (i ? ", " : "") + detail::toml_quote(r.namespaces[i]);
    out += "]\n";
  }
  out += detail::channel_bots_toml(config);
  return out;
}

}  // namespace sb::config
