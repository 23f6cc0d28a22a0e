#include "runtime/container/select/backend_selection.hpp"

#include <sodium.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/container/apple/apple_runtime.hpp"
#include "runtime/container/docker/docker_runtime.hpp"
#include "runtime/container/oci/image_store.hpp"
#include "runtime/container/oci/oci_runtime.hpp"
#include "runtime/core/ids.hpp"

namespace sb::container::select {
namespace fs = std::filesystem;

std::string find_on_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    auto candidate = (fs::path(dir.empty() ? "." : dir) / name).string();
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  // Debian installs runc in /usr/sbin, which a non-root PATH may lack.
  for (const char* dir2 : {"/usr/sbin", "/sbin"}) {
    auto candidate = (fs::path(dir2) / name).string();
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string pick_backend(const std::string& configured, bool oci_found, bool docker_answers, bool macos_container) {
  if (configured != "auto") return configured;
  if (oci_found) return "oci";
  if (docker_answers) return "docker";
  if (macos_container) return "apple";
  return "";
}

Result<std::string> install_id(const config::Config& c) {
  if (!c.container.install_id.empty()) return c.container.install_id;
  const std::string path = c.node.data_dir + "/install.id";
  {
    std::ifstream in(path);
    std::string id;
    if (in >> id && !id.empty()) return id;
  }
  std::error_code ec;
  fs::create_directories(c.node.data_dir, ec);
  std::string id = "sb-" + random_hex(8);
  std::ofstream out(path, std::ios::trunc);
  out << id << "\n";
  if (!out) return make_error("runtime.install_id", "cannot write " + path);
  return id;
}

Result<OpenedRuntime> open_runtime(const config::Config& c, const std::optional<std::string>& override_backend) {
  if (sodium_init() < 0) return make_error("runtime.unavailable", "libsodium failed to initialise");
  const auto& cc = c.container;
  const std::string configured = override_backend.value_or(cc.runtime);
  const std::string oci_binary = find_on_path(cc.oci_runtime);
  bool docker_answers = false;
  if (configured == "auto" && oci_binary.empty()) {
    docker::DockerRuntime probe(docker::DockerOptions{cc.docker_socket, std::chrono::milliseconds(2000), {}});
    docker_answers = probe.version().ok();
  }
#ifdef __APPLE__
  const bool macos = !find_on_path(cc.apple_binary).empty();
#else
  const bool macos = false;
#endif
  const std::string backend = pick_backend(configured, !oci_binary.empty(), docker_answers, macos);

  auto id = install_id(c);
  if (!id) return id.error();
  OpenedRuntime out;
  out.install_id = *id;
  if (backend == "oci") {
    if (oci_binary.empty())
      return make_error("runtime.unavailable",
                        cc.oci_runtime + " is not installed (apt-get install " + cc.oci_runtime + ")");
    out.images = std::make_shared<oci::ImageStore>(fs::path(c.node.data_dir) / "images");
    oci::OciRuntimeOptions o;
    o.state_dir = fs::path(c.node.data_dir) / "oci" / "containers";
    o.runtime_root = fs::path(c.node.data_dir) / "oci" / "state";
    o.runtime_binary = oci_binary;
    o.install_id = *id;
    fs::create_directories(o.state_dir);
    fs::create_directories(o.runtime_root);
    // The runtime holds a reference to the image store: keep both in one allocation
    // and hand out the runtime through the aliasing constructor.
    struct OciBackend {
      std::shared_ptr<oci::ImageStore> images;
      oci::OciRuntime runtime;
      OciBackend(std::shared_ptr<oci::ImageStore> i, oci::OciRuntimeOptions opts)
          : images(std::move(i)), runtime(std::move(opts), *images) {}
    };
    auto backend_holder = std::make_shared<OciBackend>(out.images, o);
    out.runtime = std::shared_ptr<ContainerRuntime>(backend_holder, &backend_holder->runtime);
  } else if (backend == "docker") {
    out.runtime = std::make_shared<docker::DockerRuntime>(
        docker::DockerOptions{cc.docker_socket, std::chrono::milliseconds(30000), std::chrono::milliseconds(2000)});
  } else if (backend == "apple") {
    out.runtime = std::make_shared<apple::AppleRuntime>(
        apple::AppleOptions{cc.apple_binary, std::chrono::milliseconds(60000), std::chrono::milliseconds(200)});
  } else {
    return make_error(
        "runtime.unavailable",
        "no container runtime found: install crun (oci), or start a Docker Engine >= 24 at " + cc.docker_socket);
  }
  auto version = out.runtime->version();
  out.status.backend = backend == "apple" ? "apple_container" : backend;
  if (version) {
    out.status.available = true;
    out.status.version = version->version;
    out.status.message = backend + " backend ready";
  } else {
    out.status.available = false;
    out.status.message = version.error().message;
  }
  return out;
}

std::string to_json(const RuntimeStatus& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("available");
  w.Bool(s.available);
  w.Key("backend");
  w.String(s.backend.c_str());
  w.Key("version");
  w.String(s.version.c_str());
  w.Key("networking");
  w.StartObject();
  w.Key("hostGateway");
  w.String(s.host_gateway.c_str());
  w.Key("extraRunArgs");
  w.StartArray();
  for (const auto& a : s.extra_run_args) w.String(a.c_str());
  w.EndArray();
  w.EndObject();
  w.Key("message");
  w.String(s.message.c_str());
  w.EndObject();
  return buf.GetString();
}

}  // namespace sb::container::select
