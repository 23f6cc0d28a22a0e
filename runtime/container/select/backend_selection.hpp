#pragma once
// Chooses and opens the container backend for a node or a cowork run, and answers
// the product's runtime status shape:
//   {"available":true,"backend":"oci","version":"crun version 1.8.1",
//    "networking":{"hostGateway":"","extraRunArgs":[]},"message":"..."}
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/config/config.hpp"
#include "runtime/container/runtime.hpp"
#include "runtime/core/result.hpp"

namespace sb::container::oci {
class ImageStore;
}

namespace sb::container::select {

struct RuntimeStatus {
  bool available = false;
  std::string backend;  // "oci", "docker", "apple_container", or "" when none
  std::string version;
  std::string host_gateway;
  std::vector<std::string> extra_run_args;
  std::string message;
};

struct OpenedRuntime {
  std::shared_ptr<ContainerRuntime> runtime;
  std::shared_ptr<oci::ImageStore> images;  // oci backend only
  RuntimeStatus status;
  std::string install_id;
};

// Pure: which backend `auto` picks, given what is installed.
std::string pick_backend(const std::string& configured, bool oci_binary_found, bool docker_answers,
                         bool is_macos_with_container_cli);

// Opens the configured backend (`override_backend` wins when set). Errors:
// "runtime.unavailable" with a message saying what is missing.
Result<OpenedRuntime> open_runtime(const config::Config& config,
                                   const std::optional<std::string>& override_backend = {});

// The install id: config value, else DATA_DIR/install.id (created once).
Result<std::string> install_id(const config::Config& config);

std::string to_json(const RuntimeStatus& status);

// Full path of an executable found on PATH, or "".
std::string find_on_path(const std::string& name);

}  // namespace sb::container::select
