#include "runtime/container/oci/debian_image.hpp"

#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

namespace sb::container::oci {
namespace {

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view x) {
  for (const auto& e : v)
    if (e == x) return true;
  return false;
}

bool is_security(std::string_view uri) {
  return uri.find("security") != std::string_view::npos;
}

}  // namespace

Result<std::string> debian_mirror_from_sources(std::string_view deb822, std::string_view one_line,
                                               std::string_view suite) {
  // deb822: paragraphs separated by blank lines; fields "Name: value"; '#' comments.
  std::vector<std::string> uris, suites;
  bool is_deb = false;
  auto finish = [&]() -> std::optional<std::string> {
    std::optional<std::string> found;
    if (is_deb && contains(suites, suite))
      for (const auto& u : uris)
        if (!is_security(u) && (u.starts_with("http://") || u.starts_with("https://") || u.starts_with("file:/"))) {
          found = u;
          break;
        }
    uris.clear();
    suites.clear();
    is_deb = false;
    return found;
  };
  std::istringstream in{std::string(deb822)};
  for (std::string raw; std::getline(in, raw);) {
    const std::string line = trim(raw);
    if (line.starts_with("#")) continue;
    if (line.empty()) {
      if (auto f = finish()) return *f;
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(std::string_view(line).substr(0, colon));
    const std::string value = trim(std::string_view(line).substr(colon + 1));
    if (key == "Types") is_deb = contains(words(value), "deb");
    if (key == "URIs") uris = words(value);
    if (key == "Suites") suites = words(value);
  }
  if (auto f = finish()) return *f;

  std::istringstream lines{std::string(one_line)};
  for (std::string raw; std::getline(lines, raw);) {
    auto w = words(trim(raw));
    if (w.size() < 3 || w[0] != "deb") continue;
    std::size_t i = 1;
    if (w[i].starts_with("[")) {  // options: [arch=amd64 signed-by=...]
      while (i < w.size() && !w[i].ends_with("]")) ++i;
      ++i;
    }
    if (i + 1 < w.size() && w[i + 1] == suite && !is_security(w[i])) return w[i];
  }
  return make_error("image.no_mirror", "no Debian mirror for " + std::string(suite) +
                                           " in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list; "
                                           "give one with --mirror URL");
}

Result<std::vector<std::string>> parse_package_list(std::string_view csv) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= csv.size()) {
    auto comma = csv.find(',', start);
    if (comma == std::string_view::npos) comma = csv.size();
    const std::string name = trim(csv.substr(start, comma - start));
    start = comma + 1;
    if (name.empty()) continue;
    bool ok = name.size() >= 2 && name.size() <= 128 &&
              ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'));
    for (char c : name)
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-');
    if (!ok) return make_error("image.bad_package", "\"" + name + "\" is not a Debian package name");
    if (!contains(out, name)) out.push_back(name);
  }
  return out;
}

Result<DebianImagePlan> debian_plan(std::string_view packages_csv, std::string mirror, std::string suite) {
  DebianImagePlan plan;
  plan.suite = std::move(suite);
  auto packages = parse_package_list(packages_csv);
  if (!packages) return packages.error();
  plan.packages = std::move(*packages);
  if (mirror.empty()) {
    auto read = [](const char* path) {
      std::ifstream in(path);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    auto found = debian_mirror_from_sources(read("/etc/apt/sources.list.d/debian.sources"),
                                            read("/etc/apt/sources.list"), plan.suite);
    if (!found) return found.error();
    mirror = std::move(*found);
  }
  plan.mirror = std::move(mirror);
  return plan;
}

std::vector<std::string> mmdebstrap_argv(const DebianImagePlan& plan, const std::string& rootfs) {
  std::vector<std::string> argv = {"mmdebstrap", "--variant=minbase", "--mode=root", "--quiet",
                                   // No documentation or locales: an agent reads none of it.
                                   "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/doc/*",
                                   "--dpkgopt=path-exclude=/usr/share/locale/*"};
  if (!plan.packages.empty()) {
    std::string include = "--include=";
    for (std::size_t i = 0; i < plan.packages.size(); ++i) include += (i ? "," : "") + plan.packages[i];
    argv.push_back(include);
  }
  argv.push_back(plan.suite);
  argv.push_back(rootfs);
  argv.push_back(plan.mirror);
  return argv;
}

}  // namespace sb::container::oci
