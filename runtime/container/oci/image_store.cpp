#include "runtime/container/oci/image_store.hpp"

#include <elf.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/container/oci/subprocess.hpp"
#include "runtime/core/fs.hpp"
#include "runtime/core/log.hpp"

namespace sb::container::oci {
namespace fs = std::filesystem;
namespace {

// A directory removed (recursively) when it goes out of scope.
class TempDir {
 public:
  static Result<TempDir> make(const fs::path& parent) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    std::string tmpl = (parent / ".tmp-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      return make_error("image.io", "cannot create a temporary directory in " + parent.string());
    return TempDir(tmpl);
  }
  TempDir(TempDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit TempDir(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

Status write_file(const fs::path& p, const std::string& content, fs::perms mode) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return make_error("image.io", "cannot write " + p.string());
  std::error_code ec;
  fs::permissions(p, mode, ec);
  return {};
}

Result<rapidjson::Document> parse_json(const fs::path& p) {
  auto text = read_file(p.string());
  if (!text) return make_error("image.io", "cannot read " + text.error().message);
  rapidjson::Document doc;
  doc.Parse(text->c_str(), text->size());
  if (doc.HasParseError() || !doc.IsObject()) return make_error("image.bad_json", "malformed JSON in " + p.string());
  return doc;
}

std::vector<std::string> strings(const rapidjson::Value& obj, const char* name) {
  std::vector<std::string> out;
  if (!obj.IsObject()) return out;
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& v : it->value.GetArray())
    if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
  return out;
}

std::string string_or(const rapidjson::Value& obj, const char* name, std::string dflt = {}) {
  if (!obj.IsObject()) return dflt;
  auto it = obj.FindMember(name);
  return it != obj.MemberEnd() && it->value.IsString() ? it->value.GetString() : dflt;
}

std::string image_json(const ImageDefaults& d) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto arr = [&](const char* k, const std::vector<std::string>& v) {
    w.Key(k);
    w.StartArray();
    for (const auto& s : v) w.String(s.c_str());
    w.EndArray();
  };
  w.StartObject();
  arr("entrypoint", d.entrypoint);
  arr("cmd", d.cmd);
  arr("env", d.env);
  w.Key("workdir");
  w.String(d.workdir.c_str());
  w.EndObject();
  return buf.GetString();
}

std::string not_found_message(const std::string& ref, const fs::path& root) {
  return "image '" + ref + "' is not in the local image store (" + root.string() +
         "); build the default agent image with `squadbox image build` or import one with "
         "`squadbox image import <docker-archive:FILE|oci-archive:FILE|oci:DIR[:TAG]> " +
         ref + "`";
}

// Refuses dynamically linked ELF files: the default image has no libc or loader.
Status check_static(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return make_error("image.agent_missing", "agent binary not readable: " + p.string());
  Elf64_Ehdr eh{};
  in.read(reinterpret_cast<char*>(&eh), sizeof eh);
  if (!in || std::string_view(reinterpret_cast<char*>(eh.e_ident), 4) != ELFMAG) return {};  // script: fine
  if (eh.e_ident[EI_CLASS] != ELFCLASS64)
    return make_error("image.agent_not_static", p.string() + " is not a 64-bit ELF binary");
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(static_cast<std::streamoff>(eh.e_phoff + static_cast<uint64_t>(i) * eh.e_phentsize));
    in.read(reinterpret_cast<char*>(&ph), sizeof ph);
    if (!in) break;
    if (ph.p_type == PT_INTERP)
      return make_error("image.agent_not_static", p.string() +
                                                      " is dynamically linked; the agent image has no libc, "
                                                      "build the agent statically (-static)");
  }
  return {};
}

bool valid_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-' || c == '/' || c == ':';
}

}  // namespace

Result<ImageRef> parse_image_ref(const std::string& ref) {
  if (ref.find('@') != std::string::npos)
    return make_error("image.digest_unsupported",
                      "image '" + ref + "': digests are not supported by the local oci image store; use name:tag");
  if (ref.empty() || ref.front() == '-' || ref.front() == '/' || ref.find("..") != std::string::npos)
    return make_error("image.bad_ref", "invalid image reference '" + ref + "'");
  for (char c : ref)
    if (!valid_name_char(c)) return make_error("image.bad_ref", "invalid image reference '" + ref + "'");
  ImageRef out;
  auto slash = ref.rfind('/');
  auto colon = ref.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    out.name = ref.substr(0, colon);
    out.tag = ref.substr(colon + 1);
  } else {
    out.name = ref;
    out.tag = "latest";
  }
  if (out.name.empty() || out.tag.empty() || out.tag.find('/') != std::string::npos || out.name.back() == '/')
    return make_error("image.bad_ref", "invalid image reference '" + ref + "'");
  return out;
}

fs::path ImageStore::dir_for(const ImageRef& ref) const {
  std::string name = ref.name;
  for (char& c : name)
    if (c == '/') c = '+';
  return root_ / name / ref.tag;
}

Result<ResolvedImage> ImageStore::resolve(const std::string& text) const {
  auto ref = parse_image_ref(text);
  if (!ref) return ref.error();
  fs::path dir = dir_for(*ref);
  std::error_code ec;
  if (!fs::is_directory(dir / "rootfs", ec) || !fs::exists(dir / "image.json", ec))
    return make_error("image.not_found", not_found_message(ref->str(), root_));
  auto doc = parse_json(dir / "image.json");
  if (!doc) return doc.error();
  ResolvedImage out{*ref, dir / "rootfs", {}};
  out.defaults.entrypoint = strings(*doc, "entrypoint");
  out.defaults.cmd = strings(*doc, "cmd");
  out.defaults.env = strings(*doc, "env");
  out.defaults.workdir = string_or(*doc, "workdir");
  return out;
}

std::vector<std::string> ImageStore::list() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& name : fs::directory_iterator(root_, ec)) {
    std::string n = name.path().filename().string();
    if (n.starts_with(".") || !name.is_directory()) continue;
    for (const auto& tag : fs::directory_iterator(name.path(), ec)) {
      std::string t = tag.path().filename().string();
      if (t.starts_with(".") || !fs::exists(tag.path() / "image.json")) continue;
      for (char& c : n)
        if (c == '+') c = '/';
      out.push_back(n + ":" + t);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status ImageStore::remove(const std::string& text) {
  auto ref = parse_image_ref(text);
  if (!ref) return ref.error();
  std::error_code ec;
  fs::remove_all(dir_for(*ref), ec);
  if (ec) return make_error("image.io", "cannot remove " + dir_for(*ref).string() + ": " + ec.message());
  return {};
}

Status ImageStore::install(const fs::path& staging, const ImageRef& ref) {
  fs::path final_dir = dir_for(ref);
  std::error_code ec;
  fs::create_directories(final_dir.parent_path(), ec);
  // Swap by renames so a concurrent resolve() sees the old or the new image, never half.
  fs::path old = final_dir;
  old += ".old-" + std::to_string(std::random_device{}());
  bool had_old = fs::exists(final_dir, ec);
  if (had_old) {
    fs::rename(final_dir, old, ec);
    if (ec) return make_error("image.io", "cannot replace " + final_dir.string() + ": " + ec.message());
  }
  fs::rename(staging, final_dir, ec);
  if (ec) return make_error("image.io", "cannot install " + final_dir.string() + ": " + ec.message());
  if (had_old) fs::remove_all(old, ec);
  sb::log::info("image.installed", {{"image", ref.str()}, {"dir", final_dir.string()}});
  return {};
}

Status ImageStore::build_default_image(const std::string& agent_binary, const std::string& text,
                                       const std::string& busybox) {
  auto ref = parse_image_ref(text);
  if (!ref) return ref.error();
  if (auto st = check_static(agent_binary); !st) return st;
  if (auto st = check_static(busybox); !st) return st;
  auto tmp = TempDir::make(root_);
  if (!tmp) return tmp.error();
  fs::path image = tmp->path() / "image";
  fs::path rootfs = image / "rootfs";
  std::error_code ec;
  for (const char* d : {"bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "etc", "proc", "sys", "dev", "workspace",
                        "tmp", "root", "home", "var/tmp"}) {
    fs::create_directories(rootfs / d, ec);
    if (ec) return make_error("image.io", "cannot create " + (rootfs / d).string() + ": " + ec.message());
  }
  fs::permissions(rootfs / "tmp", fs::perms(01777), ec);
  fs::permissions(rootfs / "var/tmp", fs::perms(01777), ec);
  fs::permissions(rootfs / "root", fs::perms(0700), ec);

  auto copy_exe = [&](const fs::path& from, const fs::path& to) -> Status {
    std::error_code e;
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, e);
    if (e) return make_error("image.io", "cannot copy " + from.string() + ": " + e.message());
    fs::permissions(to, fs::perms(0755), e);
    return {};
  };
  if (auto st = copy_exe(busybox, rootfs / "bin/busybox"); !st) return st;
  if (auto st = copy_exe(agent_binary, rootfs / "usr/local/bin/squadbox-agent"); !st) return st;

  // One symlink per applet, where busybox says it belongs (bin/sh, usr/bin/env, ...).
  auto applets = run_process({busybox, "--list-full"});
  if (!applets) return applets.error();
  if (!applets->ok()) return make_error("image.build_failed", applets->describe(busybox + " --list-full"));
  std::istringstream lines(applets->out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line == "bin/busybox" || line.find("..") != std::string::npos) continue;
    fs::path link = rootfs / line;
    fs::create_directories(link.parent_path(), ec);
    if (fs::exists(fs::symlink_status(link, ec))) continue;
    fs::create_symlink("/bin/busybox", link, ec);
    if (ec) return make_error("image.io", "cannot link " + link.string() + ": " + ec.message());
  }

  if (auto st = write_file(rootfs / "etc/passwd",
                           "root:x:0:0:root:/root:/bin/sh\n"
                           "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
                           fs::perms(0644));
      !st)
    return st;
  if (auto st = write_file(rootfs / "etc/group", "root:x:0:\nnogroup:x:65534:\n", fs::perms(0644)); !st) return st;
  if (auto st = write_file(rootfs / "etc/hosts", "127.0.0.1 localhost\n::1 localhost\n", fs::perms(0644)); !st)
    return st;

  ImageDefaults d;
  d.entrypoint = {"/usr/local/bin/squadbox-agent"};
  d.env = {std::string("PATH=") + kDefaultPath};
  d.workdir = "/workspace";
  if (auto st = write_file(image / "image.json", image_json(d), fs::perms(0644)); !st) return st;
  return install(image, *ref);
}

Status ImageStore::build_debian_image(const std::string& agent_binary, const DebianImagePlan& plan,
                                      const std::string& text) {
  auto ref = parse_image_ref(text);
  if (!ref) return ref.error();
  if (auto st = check_static(agent_binary); !st) return st;
  auto tmp = TempDir::make(root_);
  if (!tmp) return tmp.error();
  fs::path image = tmp->path() / "image";
  fs::path rootfs = image / "rootfs";
  std::error_code ec;
  fs::create_directories(rootfs, ec);
  if (ec) return make_error("image.io", "cannot create " + rootfs.string() + ": " + ec.message());
  // Downloads and unpacks a few hundred packages: minutes, not the default minute. A
  // mirror answers a download with an error now and then (a CI run saw "apt download
  // failed"): up to three attempts, each on an empty root (mmdebstrap wants one), 5 s
  // and 10 s apart.
  Result<ProcessResult> made = make_error("image.build_failed", "mmdebstrap did not run");
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0) {
      log::warn("image.debian_retry",
                {{"attempt", static_cast<int64_t>(attempt + 1)}, {"error", made->describe("mmdebstrap")}});
      std::this_thread::sleep_for(std::chrono::seconds(5 * attempt));
      fs::remove_all(rootfs, ec);
      fs::create_directories(rootfs, ec);
      if (ec) return make_error("image.io", "cannot create " + rootfs.string() + ": " + ec.message());
    }
    made =
        run_process(mmdebstrap_argv(plan, rootfs.string()), {.output_file = {}, .timeout = std::chrono::minutes(30)});
    if (!made) return made.error();
    if (made->ok()) break;
  }
  if (!made->ok()) return make_error("image.build_failed", made->describe("mmdebstrap"));
  for (const char* d : {"usr/local/bin", "workspace"}) {
    fs::create_directories(rootfs / d, ec);
    if (ec) return make_error("image.io", "cannot create " + (rootfs / d).string() + ": " + ec.message());
  }
  fs::copy_file(agent_binary, rootfs / "usr/local/bin/squadbox-agent", fs::copy_options::overwrite_existing, ec);
  if (ec) return make_error("image.io", "cannot copy " + agent_binary + ": " + ec.message());
  fs::permissions(rootfs / "usr/local/bin/squadbox-agent", fs::perms(0755), ec);
  ImageDefaults d;
  d.entrypoint = {"/usr/local/bin/squadbox-agent"};
  d.env = {std::string("PATH=") + kDefaultPath};
  d.workdir = "/workspace";
  if (auto st = write_file(image / "image.json", image_json(d), fs::perms(0644)); !st) return st;
  return install(image, *ref);
}

Status ImageStore::import_archive(const std::string& source, const std::string& text) {
  auto ref = parse_image_ref(text);
  if (!ref) return ref.error();
  std::string src = source;
  bool has_transport = src.starts_with("docker-archive:") || src.starts_with("oci-archive:") || src.starts_with("oci:");
  if (!has_transport) {
    std::error_code ec;
    if (fs::exists(fs::path(src) / "oci-layout", ec))
      src = "oci:" + src;
    else if (fs::is_regular_file(src, ec))
      src = "docker-archive:" + src;
    else
      return make_error("image.import_failed", "no image archive or OCI layout at " + source);
  }
  auto tmp = TempDir::make(root_);
  if (!tmp) return tmp.error();
  std::string layout = (tmp->path() / "layout").string();
  // --insecure-policy: the source is a local file the operator chose; there is no
  // signature to check and no /etc/containers/policy.json to rely on.
  auto copy = run_process({"skopeo", "copy", "--quiet", "--insecure-policy", src, "oci:" + layout + ":import"},
                          {.output_file = {}, .timeout = std::chrono::minutes(10)});
  if (!copy) return copy.error();
  if (!copy->ok()) return make_error("image.import_failed", copy->describe("skopeo copy"));
  fs::path bundle = tmp->path() / "bundle";
  auto unpack = run_process({"umoci", "unpack", "--image", layout + ":import", bundle.string()},
                            {.output_file = {}, .timeout = std::chrono::minutes(10)});
  if (!unpack) return unpack.error();
  if (!unpack->ok()) return make_error("image.import_failed", unpack->describe("umoci unpack"));

  // Entrypoint/Cmd/Env/WorkingDir come from the image config blob:
  // index.json -> manifest -> config.
  auto blob = [&](const std::string& digest) -> fs::path {
    auto colon = digest.find(':');
    return fs::path(layout) / "blobs" / digest.substr(0, colon) / digest.substr(colon + 1);
  };
  auto index = parse_json(fs::path(layout) / "index.json");
  if (!index) return index.error();
  auto mit = index->FindMember("manifests");
  if (mit == index->MemberEnd() || !mit->value.IsArray() || mit->value.Empty())
    return make_error("image.import_failed", "OCI layout has no manifest");
  auto manifest = parse_json(blob(string_or(mit->value[0], "digest")));
  if (!manifest) return manifest.error();
  auto cit = manifest->FindMember("config");
  if (cit == manifest->MemberEnd()) return make_error("image.import_failed", "manifest has no config");
  auto config = parse_json(blob(string_or(cit->value, "digest")));
  if (!config) return config.error();
  ImageDefaults d;
  if (auto c = config->FindMember("config"); c != config->MemberEnd() && c->value.IsObject()) {
    d.entrypoint = strings(c->value, "Entrypoint");
    d.cmd = strings(c->value, "Cmd");
    d.env = strings(c->value, "Env");
    d.workdir = string_or(c->value, "WorkingDir");
  }

  fs::path image = tmp->path() / "image";
  std::error_code ec;
  fs::create_directories(image, ec);
  fs::rename(bundle / "rootfs", image / "rootfs", ec);
  if (ec) return make_error("image.io", "cannot move unpacked rootfs: " + ec.message());
  if (auto st = write_file(image / "image.json", image_json(d), fs::perms(0644)); !st) return st;
  return install(image, *ref);
}

}  // namespace sb::container::oci
