#include "runtime/namespaces/namespace.hpp"

#include <cctype>
#include <set>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/container/validation.hpp"
#include "runtime/core/time.hpp"
#include "runtime/messaging/inbound.hpp"
#include "runtime/namespaces/field_checks.hpp"

namespace sb::namespaces {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
using Value = rapidjson::Value;

constexpr std::size_t kMaxSenderBytes = 256;
constexpr std::size_t kMaxEnvNames = 256;
constexpr std::size_t kMaxMounts = 64;

using detail::field_error;
using detail::has_control;

Result<rapidjson::Document> parse_object(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError())
    return make_error("invalid_json", std::string("body: malformed JSON (") +
                                          rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                                          std::to_string(doc.GetErrorOffset()) + ")");
  if (!doc.IsObject()) return make_error("invalid_json", "body: must be a JSON object");
  return doc;
}

// Refuses members outside `known` so that a misspelt key is an error, not a no-op.
Status only_known(const Value& obj, const std::set<std::string_view>& known, std::string_view prefix) {
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    std::string_view key(it->name.GetString(), it->name.GetStringLength());
    if (!known.contains(key)) return field_error(std::string(prefix) + std::string(key), "unknown field");
  }
  return {};
}

Result<std::string> string_member(const Value& v, std::string_view field) {
  if (!v.IsString()) return field_error(field, "must be a string");
  return std::string(v.GetString(), v.GetStringLength());
}

Result<bool> bool_member(const Value& v, std::string_view field) {
  if (!v.IsBool()) return field_error(field, "must be true or false");
  return v.GetBool();
}

Result<int64_t> seconds_member(const Value& v, std::string_view field) {
  if (!v.IsInt64() || v.GetInt64() < 0 || v.GetInt64() > 7 * 24 * 3600)
    return field_error(field, "must be an integer number of seconds from 0 to 604800");
  return v.GetInt64();
}

bool valid_env_name(std::string_view n) {
  if (n.empty() || n.size() > 128) return false;
  if (!(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
  for (unsigned char c : n)
    if (!(std::isalnum(c) || c == '_')) return false;
  return true;
}

Result<ContainerConfig> container_config_from(const Value& obj, const std::string& f) {
  if (!obj.IsObject()) return field_error(f, "must be a JSON object");
  if (auto st = only_known(obj, {"image", "timeoutSecs", "idleTimeoutSecs", "mounts", "env"}, f + "."); !st)
    return st.error();
  ContainerConfig c;
  if (auto it = obj.FindMember("image"); it != obj.MemberEnd()) {
    auto s = string_member(it->value, f + ".image");
    if (!s) return s.error();
    c.image = *s;
  }
  if (auto it = obj.FindMember("timeoutSecs"); it != obj.MemberEnd()) {
    auto n = seconds_member(it->value, f + ".timeoutSecs");
    if (!n) return n.error();
    c.timeout_secs = *n;
  }
  if (auto it = obj.FindMember("idleTimeoutSecs"); it != obj.MemberEnd()) {
    auto n = seconds_member(it->value, f + ".idleTimeoutSecs");
    if (!n) return n.error();
    c.idle_timeout_secs = *n;
  }
  if (auto it = obj.FindMember("mounts"); it != obj.MemberEnd()) {
    if (!it->value.IsArray()) return field_error(f + ".mounts", "must be an array");
    std::size_t i = 0;
    for (const auto& m : it->value.GetArray()) {
      const std::string mf = f + ".mounts[" + std::to_string(i++) + "]";
      if (!m.IsObject()) return field_error(mf, "must be an object {hostPath, containerPath?, readonly}");
      if (auto st = only_known(m, {"hostPath", "containerPath", "readonly"}, mf + "."); !st) return st.error();
      MountRequest r;
      auto hp = m.FindMember("hostPath");
      if (hp == m.MemberEnd()) return field_error(mf + ".hostPath", "required");
      auto host = string_member(hp->value, mf + ".hostPath");
      if (!host) return host.error();
      r.host_path = *host;
      if (auto cp = m.FindMember("containerPath"); cp != m.MemberEnd()) {
        auto p = string_member(cp->value, mf + ".containerPath");
        if (!p) return p.error();
        r.container_path = *p;
      }
      if (auto ro = m.FindMember("readonly"); ro != m.MemberEnd()) {
        auto b = bool_member(ro->value, mf + ".readonly");
        if (!b) return b.error();
        r.readonly = *b;
      }
      c.mounts.push_back(std::move(r));
    }
  }
  if (auto it = obj.FindMember("env"); it != obj.MemberEnd()) {
    if (!it->value.IsArray()) return field_error(f + ".env", "must be an array of variable names");
    std::size_t i = 0;
    for (const auto& e : it->value.GetArray()) {
      auto s = string_member(e, f + ".env[" + std::to_string(i++) + "]");
      if (!s) return s.error();
      c.env.push_back(*s);
    }
  }
  if (auto st = validate_container_config(c); !st) {
    // validate_container_config names fields relative to the config; prefix the member.
    return make_error(st.error().code, f + "." + st.error().message);
  }
  return c;
}

void write_container_config(JsonWriter& w, const ContainerConfig& c) {
  w.StartObject();
  if (!c.image.empty()) {
    w.Key("image");
    w.String(c.image.c_str());
  }
  if (c.timeout_secs > 0) {
    w.Key("timeoutSecs");
    w.Int64(c.timeout_secs);
  }
  if (c.idle_timeout_secs > 0) {
    w.Key("idleTimeoutSecs");
    w.Int64(c.idle_timeout_secs);
  }
  w.Key("mounts");
  w.StartArray();
  for (const auto& m : c.mounts) {
    w.StartObject();
    w.Key("hostPath");
    w.String(m.host_path.c_str());
    if (!m.container_path.empty()) {
      w.Key("containerPath");
      w.String(m.container_path.c_str());
    }
    w.Key("readonly");
    w.Bool(m.readonly);
    w.EndObject();
  }
  w.EndArray();
  w.Key("env");
  w.StartArray();
  for (const auto& e : c.env) w.String(e.c_str());
  w.EndArray();
  w.EndObject();
}

void write_namespace(JsonWriter& w, const Namespace& ns, const std::string& data_dir, const AgentProfile* defaults) {
  w.StartObject();
  w.Key("id");
  w.String(ns.id.c_str());
  w.Key("name");
  w.String(ns.name.c_str());
  w.Key("description");
  w.String(ns.description.c_str());
  w.Key("createdAt");
  w.String(iso8601_utc(ns.created_at_ms).c_str());
  w.Key("updatedAt");
  w.String(iso8601_utc(ns.updated_at_ms).c_str());
  w.Key("isMain");
  w.Bool(ns.is_main);
  w.Key("trigger");
  w.String(ns.trigger.c_str());
  w.Key("requiresTrigger");
  w.Bool(ns.requires_trigger);
  w.Key("containerConfig");
  write_container_config(w, ns.container);
  w.Key("instructionsFile");
  w.String(ns.instructions_file.c_str());
  w.Key("agent");
  const std::string agent = agent_object_json(ns.agent, ns.instructions);
  w.RawValue(agent.c_str(), agent.size(), rapidjson::kObjectType);
  if (defaults) {
    w.Key("agentEffective");
    const std::string effective = agent_profile_json(effective_agent(ns.agent, *defaults));
    w.RawValue(effective.c_str(), effective.size(), rapidjson::kObjectType);
  }
  w.Key("sessionDir");
  w.String(session_dir(data_dir, ns.name).c_str());
  w.Key("workspaceDir");
  w.String(workspace_dir(data_dir, ns.name).c_str());
  w.Key("jids");
  w.StartArray();
  for (const auto& j : ns.jids) w.String(j.c_str());
  w.EndArray();
  w.EndObject();
}

void write_mapping(JsonWriter& w, const Mapping& m) {
  w.StartObject();
  w.Key("jid");
  w.String(m.jid.c_str());
  w.Key("namespaceId");
  w.String(m.namespace_id.c_str());
  w.Key("namespace");
  w.String(m.namespace_name.c_str());
  w.Key("createdAt");
  w.String(iso8601_utc(m.created_at_ms).c_str());
  w.EndObject();
}

}  // namespace

Status validate_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return field_error("name", "must be 1 to 64 characters");
  if (!messaging::valid_namespace_name(name)) return field_error("name", "must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$");
  return {};
}

Status validate_description(std::string_view description) {
  if (description.size() > kMaxDescriptionBytes)
    return field_error("description", "longer than " + std::to_string(kMaxDescriptionBytes) + " bytes");
  return {};
}

Status validate_trigger(std::string_view trigger) {
  if (trigger.size() > kMaxTriggerBytes)
    return field_error("trigger", "longer than " + std::to_string(kMaxTriggerBytes) + " bytes");
  if (has_control(trigger)) return field_error("trigger", "must not contain control characters");
  if (!trigger.empty() && (std::isspace(static_cast<unsigned char>(trigger.front())) ||
                           std::isspace(static_cast<unsigned char>(trigger.back()))))
    return field_error("trigger", "must not start or end with white space");
  return {};
}

Status validate_instructions_file(std::string_view path) {
  if (path.empty()) return {};
  if (path.size() > kMaxInstructionsPathBytes) return field_error("instructionsFile", "path too long");
  if (has_control(path)) return field_error("instructionsFile", "must not contain control characters");
  // Relative to the namespace's workspace: no absolute paths, no way out of it.
  if (path.front() == '/') return field_error("instructionsFile", "must be relative to the workspace");
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return field_error("instructionsFile", "must not contain '..'");
    start = end + 1;
  }
  return {};
}

Status validate_container_config(const ContainerConfig& c) {
  if (!c.image.empty()) {
    if (auto st = container::validate_image_reference(c.image); !st) return field_error("image", st.error().message);
  }
  if (c.mounts.size() > kMaxMounts) return field_error("mounts", "more than " + std::to_string(kMaxMounts));
  for (std::size_t i = 0; i < c.mounts.size(); ++i) {
    const auto& m = c.mounts[i];
    const std::string f = "mounts[" + std::to_string(i) + "]";
    if (m.host_path.empty() || m.host_path.front() != '/' || has_control(m.host_path))
      return field_error(f + ".hostPath", "must be an absolute path");
    if (!m.container_path.empty() && (m.container_path.front() == '/' || has_control(m.container_path) ||
                                      m.container_path.find("..") != std::string::npos))
      return field_error(f + ".containerPath", "must be a relative path without '..' (mounted under extra/)");
  }
  if (c.env.size() > kMaxEnvNames) return field_error("env", "more than " + std::to_string(kMaxEnvNames) + " names");
  for (std::size_t i = 0; i < c.env.size(); ++i)
    if (!valid_env_name(c.env[i]))
      return field_error("env[" + std::to_string(i) + "]", "must be a variable name ([A-Za-z_][A-Za-z0-9_]*)");
  return {};
}

Status validate_sender(std::string_view sender) {
  if (sender.empty() || sender.size() > kMaxSenderBytes || has_control(sender))
    return field_error("senders", "each sender id must be 1 to 256 printable bytes");
  return {};
}

bool is_platform(std::string_view p) {
  return p == "slack" || p == "discord" || p == "whatsapp" || p == "telegram" || p == "local";
}

Status validate_bot_name(std::string_view bot) {
  if (bot.empty() || bot.size() > 64) return field_error("bot", "must be 1 to 64 characters");
  for (unsigned char c : bot)
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.'))
      return field_error("bot", "must contain only letters, digits, '_', '-' and '.'");
  return {};
}

Result<ContainerConfig> parse_container_config(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) return field_error("containerConfig", "malformed JSON");
  return container_config_from(doc, "containerConfig");
}

Result<NamespacePatch> parse_namespace_patch(std::string_view body, bool require_name) {
  auto doc = parse_object(body);
  if (!doc) return doc.error();
  const Value& o = *doc;
  if (auto st = only_known(o,
                           {"name", "description", "isMain", "trigger", "requiresTrigger", "containerConfig",
                            "instructionsFile", "agent"},
                           "");
      !st)
    return st.error();
  NamespacePatch p;
  auto str = [&](const char* key, std::optional<std::string>& out) -> Status {
    auto it = o.FindMember(key);
    if (it == o.MemberEnd()) return {};
    auto s = string_member(it->value, key);
    if (!s) return s.error();
    out = *s;
    return {};
  };
  auto flag = [&](const char* key, std::optional<bool>& out) -> Status {
    auto it = o.FindMember(key);
    if (it == o.MemberEnd()) return {};
    auto b = bool_member(it->value, key);
    if (!b) return b.error();
    out = *b;
    return {};
  };
  for (auto st :
       {str("name", p.name), str("description", p.description), flag("isMain", p.is_main), str("trigger", p.trigger),
        flag("requiresTrigger", p.requires_trigger), str("instructionsFile", p.instructions_file)})
    if (!st) return st.error();
  if (require_name && !p.name) return field_error("name", "required");
  if (p.name)
    if (auto st = validate_name(*p.name); !st) return st.error();
  if (p.description)
    if (auto st = validate_description(*p.description); !st) return st.error();
  if (p.trigger)
    if (auto st = validate_trigger(*p.trigger); !st) return st.error();
  if (p.instructions_file)
    if (auto st = validate_instructions_file(*p.instructions_file); !st) return st.error();
  if (auto it = o.FindMember("containerConfig"); it != o.MemberEnd()) {
    auto c = container_config_from(it->value, "containerConfig");
    if (!c) return c.error();
    p.container = std::move(*c);
  }
  if (auto it = o.FindMember("agent"); it != o.MemberEnd()) {
    auto a = agent_patch_from(it->value, "agent");
    if (!a) return a.error();
    p.agent = std::move(*a);
  }
  return p;
}

std::string container_config_json(const ContainerConfig& c) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  write_container_config(w, c);
  return buf.GetString();
}

Result<MappingRequest> parse_mapping_request(std::string_view body) {
  auto doc = parse_object(body);
  if (!doc) return doc.error();
  const Value& o = *doc;
  if (auto st = only_known(o, {"jid", "namespaceId", "namespace", "replace"}, ""); !st) return st.error();
  MappingRequest r;
  auto jid = o.FindMember("jid");
  if (jid == o.MemberEnd()) return field_error("jid", "required");
  auto j = string_member(jid->value, "jid");
  if (!j) return j.error();
  r.jid = *j;
  if (auto st = messaging::validate_jid(r.jid); !st) return st.error();
  auto id = o.FindMember("namespaceId");
  auto name = o.FindMember("namespace");
  if (id != o.MemberEnd() && name != o.MemberEnd())
    return field_error("namespaceId", "give either namespaceId or namespace, not both");
  if (id != o.MemberEnd()) {
    auto s = string_member(id->value, "namespaceId");
    if (!s) return s.error();
    if (s->empty()) return field_error("namespaceId", "must not be empty");
    r.namespace_ref = *s;
  } else if (name != o.MemberEnd()) {
    auto s = string_member(name->value, "namespace");
    if (!s) return s.error();
    if (auto st = validate_name(*s); !st) return field_error("namespace", st.error().message.substr(6));
    r.namespace_ref = *s;
    r.namespace_field = "namespace";
  } else {
    return field_error("namespaceId", "required (or namespace: a namespace name)");
  }
  if (auto it = o.FindMember("replace"); it != o.MemberEnd()) {
    auto b = bool_member(it->value, "replace");
    if (!b) return b.error();
    r.replace = *b;
  }
  return r;
}

Result<SenderAllowlist> parse_allowlist(std::string_view body) {
  auto doc = parse_object(body);
  if (!doc) return doc.error();
  const Value& o = *doc;
  if (auto st = only_known(o, {"mode", "senders"}, ""); !st) return st.error();
  auto mode = o.FindMember("mode");
  if (mode == o.MemberEnd()) return field_error("mode", "required (everyone or list)");
  auto m = string_member(mode->value, "mode");
  if (!m) return m.error();
  SenderAllowlist a;
  auto senders = o.FindMember("senders");
  if (*m == "everyone") {
    a.everyone = true;
    if (senders != o.MemberEnd() && !(senders->value.IsArray() && senders->value.Empty()))
      return field_error("senders", "not allowed with mode everyone");
    return a;
  }
  if (*m != "list") return field_error("mode", "must be everyone or list");
  a.everyone = false;
  if (senders == o.MemberEnd()) return field_error("senders", "required with mode list");
  if (!senders->value.IsArray()) return field_error("senders", "must be an array of sender ids");
  if (senders->value.Size() > kMaxAllowlistSenders)
    return field_error("senders", "more than " + std::to_string(kMaxAllowlistSenders) + " entries");
  std::set<std::string> seen;
  for (const auto& s : senders->value.GetArray()) {
    if (!s.IsString()) return field_error("senders", "must be an array of strings");
    std::string id(s.GetString(), s.GetStringLength());
    if (auto st = validate_sender(id); !st) return st.error();
    if (seen.insert(id).second) a.senders.push_back(std::move(id));
  }
  return a;
}

std::string senders_json(const std::vector<std::string>& senders) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  for (const auto& s : senders) w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
  return buf.GetString();
}

Result<std::vector<std::string>> parse_senders_json(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsArray()) return make_error("namespaces.corrupt", "senders: not a JSON array");
  std::vector<std::string> out;
  for (const auto& s : doc.GetArray()) {
    if (!s.IsString()) return make_error("namespaces.corrupt", "senders: not strings");
    out.emplace_back(s.GetString(), s.GetStringLength());
  }
  return out;
}

Result<RoutingRequest> parse_routing_request(std::string_view body) {
  auto doc = parse_object(body);
  if (!doc) return doc.error();
  const Value& o = *doc;
  if (auto st = only_known(o, {"defaultPolicy", "defaultNamespace"}, ""); !st) return st.error();
  auto pol = o.FindMember("defaultPolicy");
  if (pol == o.MemberEnd()) return field_error("defaultPolicy", "required (ignore or namespace)");
  auto p = string_member(pol->value, "defaultPolicy");
  if (!p) return p.error();
  RoutingRequest r;
  auto ns = o.FindMember("defaultNamespace");
  if (*p == "ignore") {
    if (ns != o.MemberEnd()) return field_error("defaultNamespace", "not allowed with defaultPolicy ignore");
    r.policy = DefaultPolicy::ignore;
    return r;
  }
  if (*p != "namespace") return field_error("defaultPolicy", "must be ignore or namespace");
  r.policy = DefaultPolicy::to_namespace;
  if (ns == o.MemberEnd()) return field_error("defaultNamespace", "required with defaultPolicy namespace");
  auto s = string_member(ns->value, "defaultNamespace");
  if (!s) return s.error();
  if (s->empty()) return field_error("defaultNamespace", "must not be empty");
  if (s->size() > 64 || has_control(*s)) return field_error("defaultNamespace", "not a namespace id or name");
  r.namespace_ref = *s;
  return r;
}

std::string namespace_json(const Namespace& ns, const std::string& data_dir, const AgentProfile* defaults) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  write_namespace(w, ns, data_dir, defaults);
  return buf.GetString();
}

std::string namespaces_json(const std::vector<Namespace>& all, const std::string& data_dir,
                            const AgentProfile* defaults) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  for (const auto& ns : all) write_namespace(w, ns, data_dir, defaults);
  w.EndArray();
  return buf.GetString();
}

std::string mapping_json(const Mapping& m) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  write_mapping(w, m);
  return buf.GetString();
}

std::string mappings_json(const std::vector<Mapping>& all) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  for (const auto& m : all) write_mapping(w, m);
  w.EndArray();
  return buf.GetString();
}

std::string allowlist_json(const SenderAllowlist& a) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("platform");
  w.String(a.channel.c_str());
  w.Key("bot");
  w.String(a.bot.c_str());
  w.Key("mode");
  w.String(a.everyone ? "everyone" : "list");
  w.Key("senders");
  w.StartArray();
  for (const auto& s : a.senders) w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
  w.Key("updatedAt");
  if (a.updated_at_ms > 0)
    w.String(iso8601_utc(a.updated_at_ms).c_str());
  else
    w.Null();
  w.EndObject();
  return buf.GetString();
}

std::string routing_json(const RoutingSettings& r) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("defaultPolicy");
  w.String(r.policy == DefaultPolicy::ignore ? "ignore" : "namespace");
  if (r.policy == DefaultPolicy::to_namespace) {
    w.Key("defaultNamespaceId");
    w.String(r.default_namespace_id.c_str());
    w.Key("defaultNamespace");
    w.String(r.default_namespace_name.c_str());
  }
  w.EndObject();
  return buf.GetString();
}

std::string session_dir(const std::string& data_dir, const std::string& name) {
  return data_dir + "/sessions/" + name;
}

std::string workspace_dir(const std::string& data_dir, const std::string& name) {
  return data_dir + "/workspaces/" + name;
}

}  // namespace sb::namespaces
