#include "runtime/container/apple/apple_args.hpp"

#include <cctype>
#include <csignal>

#include <rapidjson/document.h>

#include "runtime/container/signal_name.hpp"

namespace sb::container::apple {
namespace {

const rapidjson::Value* member(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return nullptr;
  const auto it = v.FindMember(name);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string string_member(const rapidjson::Value& v, const char* name) {
  const auto* m = member(v, name);
  return m && m->IsString() ? std::string(m->GetString(), m->GetStringLength()) : std::string{};
}

}  // namespace

std::string memory_arg(int64_t bytes) {
  const int64_t mib = (bytes + (1 << 20) - 1) >> 20;
  return std::to_string(mib < 1 ? 1 : mib) + "M";
}

std::string cpus_arg(int64_t cpu_millis) {
  const int64_t cpus = (cpu_millis + 999) / 1000;
  return std::to_string(cpus < 1 ? 1 : cpus);
}

std::vector<std::string> build_argv(const std::string& binary, const AppleCall& call) {
  std::vector<std::string> a{binary};
  switch (call.op) {
    case Op::version: a.push_back("--version"); break;
    case Op::create: {
      const ContainerSpec& s = *call.spec;
      a.insert(a.end(), {"create", "--name", s.name});
      for (const auto& [k, v] : s.labels) a.insert(a.end(), {"--label", k + "=" + v});
      // Always K=V: a bare K would make the CLI copy the host's value in.
      for (const auto& [k, v] : s.env) a.insert(a.end(), {"--env", k + "=" + v});
      a.insert(a.end(), {"--user", std::to_string(s.host_uid()) + ":" + std::to_string(s.host_gid())});
      if (!s.workdir.empty()) a.insert(a.end(), {"--workdir", s.workdir});
      a.insert(a.end(), {"--tmpfs", "/tmp"});
      if (s.limits.memory_bytes > 0) a.insert(a.end(), {"--memory", memory_arg(s.limits.memory_bytes)});
      if (s.limits.cpu_millis > 0) a.insert(a.end(), {"--cpus", cpus_arg(s.limits.cpu_millis)});
      // --mount documents `readonly`; -v's ":ro" suffix is not documented.
      for (const auto& m : s.mounts.mounts()) {
        a.insert(a.end(), {"--mount", "type=bind,source=" + m.host_path + ",target=" + m.container_path +
                                          (m.read_write ? "" : ",readonly")});
      }
      a.insert(a.end(), s.extra_args.begin(), s.extra_args.end());  // validated upstream
      a.push_back(s.image);
      a.insert(a.end(), s.command.begin(), s.command.end());
      break;
    }
    case Op::start: a.insert(a.end(), {"start", call.id}); break;
    case Op::kill: a.insert(a.end(), {"kill", "--signal", signal_name(call.signal), call.id}); break;
    case Op::remove:
      a.push_back("delete");
      if (call.force) a.push_back("--force");
      a.push_back(call.id);
      break;
    case Op::list: a.insert(a.end(), {"list", "--all", "--format", "json"}); break;
    case Op::inspect: a.insert(a.end(), {"inspect", call.id}); break;
  }
  return a;
}

Result<std::string> parse_version(std::string_view out) {
  // First token that looks like N.N[.N]: the CLI's wording may change around it.
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(out[i])) ||
        (i > 0 && (std::isalnum(static_cast<unsigned char>(out[i - 1])) || out[i - 1] == '.'))) {
      continue;
    }
    size_t j = i;
    int dots = 0;
    while (j < out.size() && (std::isdigit(static_cast<unsigned char>(out[j])) || out[j] == '.')) {
      if (out[j] == '.') ++dots;
      ++j;
    }
    std::string v(out.substr(i, j - i));
    while (!v.empty() && v.back() == '.') {
      v.pop_back();
      --dots;
    }
    if (dots >= 1) return v;
    i = j;
  }
  return make_error("apple.bad_version", "cannot find a version in `container --version` output");
}

Status check_min_version(std::string_view version) {
  int major = 0, minor = 0;
  if (std::sscanf(std::string(version).c_str(), "%d.%d", &major, &minor) != 2) {
    return make_error("apple.bad_version", "unparsable Apple Container version '" + std::string(version) + "'");
  }
  if (major == 0 && minor < 2) {
    return make_error("apple.too_old",
                      "Apple Container " + std::string(version) + " is too old: squadbox needs 0.2 or newer");
  }
  return {};
}

Result<std::vector<ContainerInfo>> parse_snapshots(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsArray()) {
    return make_error("apple.bad_response", "`container` did not print a JSON array");
  }
  std::vector<ContainerInfo> out;
  for (const auto& snap : doc.GetArray()) {
    const auto* cfg = member(snap, "configuration");
    if (!cfg) return make_error("apple.bad_response", "container snapshot without configuration");
    ContainerInfo info;
    info.id = string_member(*cfg, "id");
    if (info.id.empty()) return make_error("apple.bad_response", "container snapshot without id");
    info.name = info.id;  // --name becomes the container's id
    if (const auto* labels = member(*cfg, "labels"); labels && labels->IsObject()) {
      for (const auto& m : labels->GetObject()) {
        if (m.value.IsString()) info.labels.emplace(m.name.GetString(), m.value.GetString());
      }
    }
    const std::string status = string_member(snap, "status");
    if (status == "running") {
      info.state = ContainerState::running;
    } else if (status == "stopped") {
      // 0.2 does not tell "created" from "exited"; both are "stopped".
      info.state = ContainerState::exited;
      // An exit code, if this version reports one (assumed field name; absent in 0.2).
      if (const auto* code = member(snap, "exitCode"); code && code->IsInt()) {
        ExitStatus e;
        e.exit_code = code->GetInt();
        if (e.exit_code > 128 && e.exit_code <= 192) e.signal = e.exit_code - 128;
        info.exit = e;
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace sb::container::apple
