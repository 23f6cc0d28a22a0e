#include "runtime/container/oci/proc_security.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include <rapidjson/document.h>

namespace sb::container::oci {
namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int value = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 4, value, 8);
      if (ec == std::errc{} && p == s.data() + i + 4) {
        out.push_back(static_cast<char>(value));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

bool has_option(std::string_view options, std::string_view name) {
  for (auto o : split(options, ','))
    if (o == name) return true;
  return false;
}

// `path` is `prefix` or lies below it.
bool under(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return !path.empty() && path.front() == '/';
  return path == prefix || (path.starts_with(prefix) && path.size() > prefix.size() && path[prefix.size()] == '/');
}

// Kernel filesystems of the container's own namespaces at the places our config puts them.
bool namespace_view(const MountInfoEntry& e) {
  return (e.fs_type == "proc" && under(e.mount_point, "/proc")) ||
         (e.fs_type == "sysfs" && under(e.mount_point, "/sys")) ||
         (e.fs_type == "mqueue" && e.mount_point == "/dev/mqueue");
}

}  // namespace

Result<ProcStatus> parse_proc_status(std::string_view text) {
  ProcStatus st;
  std::map<std::string_view, uint64_t*> caps = {{"CapInh", &st.cap_inh},
                                                {"CapPrm", &st.cap_prm},
                                                {"CapEff", &st.cap_eff},
                                                {"CapBnd", &st.cap_bnd},
                                                {"CapAmb", &st.cap_amb}};
  std::set<std::string_view> seen;
  for (auto line : split(text, '\n')) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == '\t' || value.front() == ' ')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.remove_suffix(1);
    if (auto it = caps.find(key); it != caps.end()) {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), *it->second, 16);
      if (ec != std::errc{} || p != value.data() + value.size() || value.empty())
        return make_error("proc.bad_status", "malformed " + std::string(key) + " line: " + std::string(line));
      seen.insert(key);
    } else if (key == "NoNewPrivs") {
      if (value != "0" && value != "1")
        return make_error("proc.bad_status", "malformed NoNewPrivs line: " + std::string(line));
      st.no_new_privs = value == "1";
      seen.insert(key);
    }
  }
  for (std::string_view required : {"CapPrm", "CapEff", "CapBnd", "NoNewPrivs"})
    if (!seen.contains(required))
      return make_error("proc.bad_status", "no " + std::string(required) + " line in /proc status");
  return st;
}

std::set<std::string> capability_set(uint64_t mask) {
  std::set<std::string> out;
  for (int bit = 0; bit < 64; ++bit)
    if (mask & (uint64_t{1} << bit)) out.insert(capability_name(bit));
  return out;
}

std::vector<MountInfoEntry> parse_mountinfo(std::string_view text) {
  std::vector<MountInfoEntry> out;
  for (auto line : split(text, '\n')) {
    auto f = split(line, ' ');
    // id parent major:minor root mount_point options [optional...] - type source super_options
    size_t dash = 0;
    for (size_t i = 6; i < f.size(); ++i)
      if (f[i] == "-") {
        dash = i;
        break;
      }
    if (dash == 0 || dash + 3 >= f.size()) continue;
    if (f[2].find(':') == std::string_view::npos) continue;
    MountInfoEntry e;
    e.device = std::string(f[2]);
    e.root = unescape(f[3]);
    e.mount_point = unescape(f[4]);
    e.fs_type = std::string(f[dash + 1]);
    e.source = unescape(f[dash + 2]);
    e.read_write = has_option(f[5], "rw") && !has_option(f[dash + 3], "ro");
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ObservedMount> host_mounts(const std::vector<MountInfoEntry>& container,
                                       const std::vector<MountInfoEntry>& host) {
  std::vector<ObservedMount> out;
  for (const auto& e : container) {
    if (e.mount_point == "/" || namespace_view(e)) continue;
    // Host paths of this directory: every host mount of the same device whose root
    // contains ours. The primary one has the longest such root (then the shortest
    // mount point); the others are aliases.
    std::vector<const MountInfoEntry*> candidates;
    bool host_device = false;
    for (const auto& h : host) {
      if (h.device != e.device) continue;
      host_device = true;
      if (under(e.root, h.root)) candidates.push_back(&h);
    }
    if (!host_device) continue;  // a filesystem of its own (fresh tmpfs, devpts, ...)
    std::stable_sort(candidates.begin(), candidates.end(), [](const MountInfoEntry* a, const MountInfoEntry* b) {
      if (a->root.size() != b->root.size()) return a->root.size() > b->root.size();
      return a->mount_point.size() < b->mount_point.size();
    });
    std::vector<std::string> names;
    for (const auto* h : candidates) {
      std::string rel = h->root == "/" ? (e.root == "/" ? "" : e.root) : e.root.substr(h->root.size());
      std::string name = h->mount_point == "/" ? (rel.empty() ? "/" : rel) : h->mount_point + rel;
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
    }
    if (names.empty()) names.push_back(e.device + ":" + e.root);  // host device, but no host path reaches it
    if (std::find(names.begin(), names.end(), "/dev/null") != names.end()) continue;  // masks a kernel file
    ObservedMount m{names.front(), e.mount_point, e.read_write, e.fs_type};
    m.aliases.assign(names.begin() + 1, names.end());
    out.push_back(std::move(m));
  }
  return out;
}

Result<SecurityProfile> profile_from_proc(const ProcSnapshot& snap) {
  auto status = parse_proc_status(snap.status);
  if (!status) return status.error();
  SecurityProfile p;
  const int last = snap.cap_last_cap >= 0 && snap.cap_last_cap < 64 ? snap.cap_last_cap : 40;
  const uint64_t full = last == 63 ? ~uint64_t{0} : (uint64_t{1} << (last + 1)) - 1;
  p.capabilities = capability_set(status->cap_eff | status->cap_prm | status->cap_amb);
  p.bounding = capability_set(status->cap_bnd);
  p.privileged = (status->cap_eff & full) == full && (status->cap_bnd & full) == full;
  p.no_new_privileges = status->no_new_privs;
  for (const auto& [name, link] : snap.namespaces) {
    auto it = snap.host_namespaces.find(name);
    if (!link.empty() && it != snap.host_namespaces.end() && it->second.contains(link)) p.host_namespaces.insert(name);
  }
  p.mounts = host_mounts(parse_mountinfo(snap.mountinfo), parse_mountinfo(snap.host_mountinfo));
  return p;
}

Result<OciState> parse_oci_state(std::string_view json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject()) return make_error("oci.bad_state", "runtime state is not a JSON object");
  OciState s;
  if (auto it = d.FindMember("status"); it != d.MemberEnd() && it->value.IsString()) s.status = it->value.GetString();
  if (auto it = d.FindMember("pid"); it != d.MemberEnd() && it->value.IsInt()) s.pid = it->value.GetInt();
  if (s.status.empty()) return make_error("oci.bad_state", "runtime state without status");
  return s;
}

}  // namespace sb::container::oci
