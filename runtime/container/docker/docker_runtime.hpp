#pragma once
// ContainerRuntime over the Docker Engine API on its unix socket (Docker >= 24,
// API 1.43-1.45). Also the API Podman's `podman system service` imitates, but see
// docs/runtime-docker.md for what was verified there.
#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "runtime/container/docker/unix_http.hpp"
#include "runtime/container/runtime.hpp"

namespace sb::container::docker {

struct DockerOptions {
  std::string socket_path = "/var/run/docker.sock";
  // Ordinary calls (create, start, kill, remove, list, inspect, version).
  std::chrono::milliseconds call_timeout{30000};
  // Extra time allowed past a wait()'s own timeout before the socket is given up.
  std::chrono::milliseconds wait_slack{2000};
};

class DockerRuntime final : public ContainerRuntime {
 public:
  explicit DockerRuntime(DockerOptions options = {});

  std::string backend() const override { return "docker"; }
  // GET /version; negotiates (and caches) the API version on first use.
  Result<RuntimeVersion> version() override;

  Result<std::string> create(const ContainerSpec& spec) override;
  Status start(const std::string& id) override;
  Result<ExitStatus> wait(const std::string& id, std::chrono::milliseconds timeout) override;
  Status kill(const std::string& id, int signal) override;
  Status remove(const std::string& id, bool force) override;
  Result<std::vector<ContainerInfo>> list(const Labels& selector) override;
  Result<ContainerInfo> inspect(const std::string& id) override;
  // From GET /containers/{id}/json: HostConfig and Mounts as the daemon applied them.
  Result<SecurityProfile> security_profile(const std::string& id) override;

  // One raw API call with the negotiated /v1.NN prefix (tests import images with it).
  Result<http::Response> call(std::string_view method, const std::string& path, std::string body = {},
                              std::string content_type = "application/json",
                              std::optional<std::chrono::milliseconds> timeout = std::nullopt);

 private:
  Result<std::string> api_prefix();  // "/v1.45"

  DockerOptions options_;
  UnixHttpClient client_;
  std::mutex mu_;  // guards the cached negotiation; calls themselves run in parallel
  std::optional<RuntimeVersion> version_;
};

}  // namespace sb::container::docker
