#include "runtime/container/docker/docker_json.hpp"

#include <charconv>
#include <csignal>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sb::container::docker {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void key(Writer& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
void str(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

Error bad_response(std::string_view what) {
  return make_error("docker.bad_response", "unexpected Docker API reply: " + std::string(what));
}

Result<rapidjson::Document> parse(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) return bad_response("not JSON");
  return doc;
}

std::string get_string(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return {};
  const auto it = obj.FindMember(name);
  return it != obj.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                       : std::string{};
}

Labels get_labels(const rapidjson::Value& obj) {
  Labels labels;
  if (!obj.IsObject()) return labels;
  const auto it = obj.FindMember("Labels");
  if (it == obj.MemberEnd() || !it->value.IsObject()) return labels;  // null when none
  for (const auto& m : it->value.GetObject()) {
    if (m.value.IsString()) labels.emplace(m.name.GetString(), m.value.GetString());
  }
  return labels;
}

ContainerState to_state(std::string_view status) {
  if (status == "created") return ContainerState::created;
  // A paused or restarting container still holds its processes.
  if (status == "running" || status == "paused" || status == "restarting") return ContainerState::running;
  if (status == "exited" || status == "dead") return ContainerState::exited;
  return ContainerState::unknown;  // "removing" and anything newer
}

std::string strip_slash(std::string name) {
  if (!name.empty() && name.front() == '/') name.erase(0, 1);
  return name;
}

}  // namespace

bool parse_api_version(std::string_view text, int& major, int& minor) {
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return false;
  const char* end = text.data() + text.size();
  auto [p1, e1] = std::from_chars(text.data(), text.data() + dot, major);
  auto [p2, e2] = std::from_chars(text.data() + dot + 1, end, minor);
  return e1 == std::errc{} && e2 == std::errc{} && p1 == text.data() + dot && p2 == end && dot > 0 &&
         dot + 1 < text.size();
}

int compare_api_versions(std::string_view a, std::string_view b) {
  int amaj = 0, amin = 0, bmaj = 0, bmin = 0;
  if (!parse_api_version(a, amaj, amin)) amaj = amin = 0;
  if (!parse_api_version(b, bmaj, bmin)) bmaj = bmin = 0;
  if (amaj != bmaj) return amaj < bmaj ? -1 : 1;
  if (amin != bmin) return amin < bmin ? -1 : 1;
  return 0;
}

Result<std::string> negotiate_api_version(std::string_view server_api, std::string_view server_min_api, bool podman) {
  int major = 0, minor = 0;
  if (!parse_api_version(server_api, major, minor)) {
    return make_error("docker.bad_version",
                      "Docker reported an unparsable API version '" + std::string(server_api) + "'");
  }
  if (compare_api_versions(server_api, podman ? std::string_view("1.40") : kMinApiVersion) < 0) {
    return make_error("docker.too_old", "Docker Engine API " + std::string(server_api) +
                                            " is too old: squadbox needs API " + std::string(kMinApiVersion) +
                                            " (Docker 24.0) or newer");
  }
  std::string chosen =
      compare_api_versions(server_api, kMaxApiVersion) < 0 ? std::string(server_api) : std::string(kMaxApiVersion);
  int mmaj = 0, mmin = 0;
  if (!server_min_api.empty() && parse_api_version(server_min_api, mmaj, mmin) &&
      compare_api_versions(server_min_api, chosen) > 0) {
    return make_error("docker.too_new", "Docker Engine only accepts API " + std::string(server_min_api) +
                                            " or newer; squadbox speaks up to " + std::string(kMaxApiVersion));
  }
  return chosen;
}

Result<ServerVersion> parse_version(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return doc.error();
  ServerVersion v{get_string(*doc, "Version"), get_string(*doc, "ApiVersion"), get_string(*doc, "MinAPIVersion")};
  if (v.api_version.empty()) return bad_response("/version without ApiVersion");
  if (auto it = doc->FindMember("Components"); it != doc->MemberEnd() && it->value.IsArray()) {
    for (const auto& c : it->value.GetArray())
      if (c.IsObject() && c.HasMember("Name") && c["Name"].IsString() &&
          std::string_view(c["Name"].GetString()) == "Podman Engine")
        v.podman = true;
  }
  return v;
}

std::vector<std::string> binds(const std::vector<Mount>& mounts) {
  std::vector<std::string> out;
  out.reserve(mounts.size());
  for (const auto& m : mounts) {
    out.push_back(m.host_path + ":" + m.container_path + (m.read_write ? ":rw" : ":ro"));
  }
  return out;
}

std::string create_body(const ContainerSpec& spec) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  key(w, "Image");
  str(w, spec.image);
  if (!spec.command.empty()) {  // absent: the image's default command
    key(w, "Cmd");
    w.StartArray();
    for (const auto& arg : spec.command) str(w, arg);
    w.EndArray();
  }
  key(w, "Env");
  w.StartArray();
  for (const auto& [k, v] : spec.env) str(w, k + "=" + v);
  w.EndArray();
  key(w, "Labels");
  w.StartObject();
  for (const auto& [k, v] : spec.labels) {
    key(w, k);
    str(w, v);
  }
  w.EndObject();
  // Docker's user namespaces (userns-remap) are daemon-wide, not per container: the
  // namespace's own host ids are given directly (spec.host_uid(): the uid its range maps
  // nobody to), so two namespaces never share a uid either. Docker's default seccomp
  // profile applies (nothing here or in the validated extra args turns it off).
  key(w, "User");
  str(w, std::to_string(spec.host_uid()) + ":" + std::to_string(spec.host_gid()));
  if (!spec.workdir.empty()) {
    key(w, "WorkingDir");
    str(w, spec.workdir);
  }
  key(w, "NetworkDisabled");
  w.Bool(true);
  // Nothing reads stdin; without Tty Docker keeps stdout/stderr apart in the logs.
  key(w, "AttachStdin");
  w.Bool(false);
  key(w, "Tty");
  w.Bool(false);

  key(w, "HostConfig");
  w.StartObject();
  key(w, "NetworkMode");
  str(w, "none");
  key(w, "ReadonlyRootfs");
  w.Bool(true);
  key(w, "Tmpfs");
  w.StartObject();
  key(w, "/tmp");
  // mode=1777 for images without /tmp; Docker copies an image's own /tmp mode onto the
  // tmpfs (tmpcopyup), so images need the usual 1777 /tmp for a non-root user.
  str(w, "rw,nosuid,nodev,size=64m,mode=1777");
  w.EndObject();
  key(w, "CapDrop");
  w.StartArray();
  str(w, "ALL");
  w.EndArray();
  key(w, "SecurityOpt");
  w.StartArray();
  str(w, "no-new-privileges");
  w.EndArray();
  key(w, "Binds");
  w.StartArray();
  for (const auto& b : binds(spec.mounts.mounts())) str(w, b);
  w.EndArray();
  if (spec.limits.memory_bytes > 0) {
    key(w, "Memory");
    w.Int64(spec.limits.memory_bytes);
    key(w, "MemorySwap");  // equal to Memory: no swap on top of the limit
    w.Int64(spec.limits.memory_bytes);
  }
  if (spec.limits.pids > 0) {
    key(w, "PidsLimit");
    w.Int64(spec.limits.pids);
  }
  if (spec.limits.cpu_millis > 0) {
    key(w, "NanoCpus");
    w.Int64(spec.limits.cpu_millis * 1'000'000);
  }
  key(w, "AutoRemove");  // squadbox reads the exit status, then removes
  w.Bool(false);
  key(w, "Init");
  w.Bool(false);
  w.EndObject();

  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

Result<std::string> parse_create(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return doc.error();
  std::string id = get_string(*doc, "Id");
  if (id.empty()) return bad_response("create reply without Id");
  return id;
}

Result<ContainerInfo> parse_inspect(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return doc.error();
  if (!doc->IsObject()) return bad_response("inspect reply is not an object");
  ContainerInfo info;
  info.id = get_string(*doc, "Id");
  if (info.id.empty()) return bad_response("inspect reply without Id");
  info.name = strip_slash(get_string(*doc, "Name"));
  if (const auto cfg = doc->FindMember("Config"); cfg != doc->MemberEnd()) info.labels = get_labels(cfg->value);
  const auto st = doc->FindMember("State");
  if (st == doc->MemberEnd() || !st->value.IsObject()) return bad_response("inspect reply without State");
  const auto& state = st->value;
  info.state = to_state(get_string(state, "Status"));
  if (const auto pid = state.FindMember("Pid"); pid != state.MemberEnd() && pid->value.IsInt()) {
    info.pid = pid->value.GetInt();
  }
  if (info.state == ContainerState::exited) {
    int code = 0;
    bool oom = false;
    if (const auto c = state.FindMember("ExitCode"); c != state.MemberEnd() && c->value.IsInt())
      code = c->value.GetInt();
    if (const auto o = state.FindMember("OOMKilled"); o != state.MemberEnd() && o->value.IsBool())
      oom = o->value.GetBool();
    info.exit = exit_status(code, oom);
  }
  return info;
}

std::set<std::string> effective_capabilities(bool privileged, const std::vector<std::string>& cap_add,
                                             const std::vector<std::string>& cap_drop) {
  if (privileged) return all_capabilities();
  std::set<std::string> add, drop;
  for (const auto& c : cap_add) add.insert(normalize_capability(c));
  for (const auto& c : cap_drop) drop.insert(normalize_capability(c));
  std::set<std::string> out;
  if (add.contains("ALL")) {
    for (const auto& c : all_capabilities())
      if (!drop.contains(c)) out.insert(c);
    return out;
  }
  if (!drop.contains("ALL"))
    for (auto c : kDefaultCapabilities)
      if (!drop.contains(std::string(c))) out.emplace(c);
  out.insert(add.begin(), add.end());
  return out;
}

Result<SecurityProfile> parse_security_profile(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return doc.error();
  if (!doc->IsObject()) return bad_response("inspect reply is not an object");
  const auto hc = doc->FindMember("HostConfig");
  if (hc == doc->MemberEnd() || !hc->value.IsObject()) return bad_response("inspect reply without HostConfig");
  const auto& host = hc->value;
  auto strings = [&](const char* name) {
    std::vector<std::string> out;
    if (const auto it = host.FindMember(name); it != host.MemberEnd() && it->value.IsArray())  // null when unset
      for (const auto& v : it->value.GetArray())
        if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
    return out;
  };
  SecurityProfile p;
  if (const auto it = host.FindMember("Privileged"); it != host.MemberEnd() && it->value.IsBool())
    p.privileged = it->value.GetBool();
  p.capabilities = effective_capabilities(p.privileged, strings("CapAdd"), strings("CapDrop"));
  p.bounding = p.capabilities;  // Docker sets every capability set alike
  for (const auto& opt : strings("SecurityOpt"))
    if (opt == "no-new-privileges" || opt == "no-new-privileges:true" || opt == "no-new-privileges=true")
      p.no_new_privileges = true;
  const std::pair<const char*, const char*> modes[] = {{"PidMode", "pid"},     {"NetworkMode", "net"},
                                                       {"IpcMode", "ipc"},     {"UTSMode", "uts"},
                                                       {"UsernsMode", "user"}, {"CgroupnsMode", "cgroup"}};
  for (const auto& [field, ns] : modes)
    if (get_string(host, field) == "host") p.host_namespaces.insert(ns);
  if (const auto m = doc->FindMember("Mounts"); m != doc->MemberEnd() && m->value.IsArray()) {
    for (const auto& item : m->value.GetArray()) {
      if (!item.IsObject()) return bad_response("mount entry is not an object");
      ObservedMount om;
      om.type = get_string(item, "Type");
      if (om.type == "tmpfs") continue;  // a filesystem of its own: no host files
      om.source = get_string(item, "Source");
      om.destination = get_string(item, "Destination");
      if (const auto rw = item.FindMember("RW"); rw != item.MemberEnd() && rw->value.IsBool())
        om.read_write = rw->value.GetBool();
      if (om.destination.empty()) return bad_response("mount entry without Destination");
      p.mounts.push_back(std::move(om));
    }
  }
  return p;
}

Result<std::vector<ContainerInfo>> parse_list(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return doc.error();
  if (!doc->IsArray()) return bad_response("container list is not an array");
  std::vector<ContainerInfo> out;
  for (const auto& item : doc->GetArray()) {
    ContainerInfo info;
    info.id = get_string(item, "Id");
    if (info.id.empty()) return bad_response("container list entry without Id");
    if (const auto names = item.FindMember("Names");
        names != item.MemberEnd() && names->value.IsArray() && !names->value.Empty() && names->value[0].IsString()) {
      info.name = strip_slash(names->value[0].GetString());
    }
    info.labels = get_labels(item);
    info.state = to_state(get_string(item, "State"));
    // The list has no ExitCode field; its Status text reads "Exited (7) 3 seconds ago".
    if (info.state == ContainerState::exited) {
      const std::string status = get_string(item, "Status");
      const size_t open = status.find('(');
      int code = 0;
      if (open != std::string::npos &&
          std::from_chars(status.data() + open + 1, status.data() + status.size(), code).ec == std::errc{}) {
        info.exit = exit_status(code, false);  // OOM is only known from inspect
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

Result<int> parse_wait(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return doc.error();
  if (!doc->IsObject()) return bad_response("wait reply is not an object");
  if (const auto err = doc->FindMember("Error"); err != doc->MemberEnd() && err->value.IsObject()) {
    const std::string msg = get_string(err->value, "Message");
    if (!msg.empty()) return make_error("docker.wait_failed", msg);
  }
  const auto code = doc->FindMember("StatusCode");
  if (code == doc->MemberEnd() || !code->value.IsInt64()) return bad_response("wait reply without StatusCode");
  return static_cast<int>(code->value.GetInt64());
}

ExitStatus exit_status(int exit_code, bool oom_killed) {
  ExitStatus s;
  s.exit_code = exit_code;
  s.oom_killed = oom_killed;
  if (exit_code > 128 && exit_code <= 128 + 64) s.signal = exit_code - 128;
  return s;
}

std::string error_message(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (!doc.HasParseError() && doc.IsObject()) {
    std::string msg = get_string(doc, "message");
    if (!msg.empty()) return msg;
  }
  std::string raw(body.substr(0, 300));
  while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r')) raw.pop_back();
  return raw.empty() ? "(no message)" : raw;
}

std::string label_filter(const Labels& selector) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  key(w, "label");
  w.StartArray();
  for (const auto& [k, v] : selector) str(w, k + "=" + v);
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string url_encode(std::string_view in) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3);
  for (const char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

}  // namespace sb::container::docker
