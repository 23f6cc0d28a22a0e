#pragma once
// The one narrow interface every container backend implements (oci: crun/runc
// driven directly; docker: the Engine API over its unix socket; apple: the
// `container` CLI). Calls block; actors run them off their own threads.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "runtime/container/container_spec.hpp"
#include "runtime/container/security_profile.hpp"
#include "runtime/core/result.hpp"

namespace sb::container {

class ContainerRuntime {
 public:
  virtual ~ContainerRuntime() = default;

  virtual std::string backend() const = 0;
  virtual Result<RuntimeVersion> version() = 0;

  // Creates (does not start) a container; returns its id.
  virtual Result<std::string> create(const ContainerSpec& spec) = 0;
  virtual Status start(const std::string& id) = 0;
  // Blocks until the container exits or `timeout` passes ("container.timeout").
  virtual Result<ExitStatus> wait(const std::string& id, std::chrono::milliseconds timeout) = 0;
  virtual Status kill(const std::string& id, int signal) = 0;
  // Removes a stopped container (force: kill it first). Removing an unknown id is ok.
  virtual Status remove(const std::string& id, bool force) = 0;
  // Containers whose labels include every selector pair.
  virtual Result<std::vector<ContainerInfo>> list(const Labels& selector) = 0;
  virtual Result<ContainerInfo> inspect(const std::string& id) = 0;
  // What the running container really is (read from the live container, not from our
  // request), for the periodic security audit. Errors: "container.not_found",
  // "container.not_running", "container.unsupported" (a backend that cannot observe it).
  virtual Result<SecurityProfile> security_profile(const std::string& id) {
    return make_error("container.unsupported", backend() + " cannot report the security profile of '" + id + "'");
  }
};

}  // namespace sb::container
