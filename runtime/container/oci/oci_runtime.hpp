#pragma once
// The oci backend: drives crun (default) or runc directly, no daemon.
//
// Per container: a bundle dir <state_dir>/<id>/ (mode 0700) holding config.json,
// labels.json, spec.json (name, image; no env values), pid (from --pid-file),
// output.log (the container's stdout+stderr) and, once reaped, exit.json.
//
// Exit codes: crun does not report a detached container's exit status, so the owning
// process makes itself a child subreaper (prctl(PR_SET_CHILD_SUBREAPER)) in the
// constructor. When `crun create` exits, the container's init is reparented to us and
// wait() reaps it with waitid(), getting the exact code or signal. The OOM flag is read
// from the container's memory cgroup before `delete` removes it.
// Consequence: nothing else in the process may reap children with waitpid(-1).
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "runtime/container/oci/image_store.hpp"
#include "runtime/container/oci/subprocess.hpp"
#include "runtime/container/runtime.hpp"

namespace sb::container::oci {

struct OciRuntimeOptions {
  std::filesystem::path state_dir;      // bundles
  std::string runtime_binary = "crun";  // or "runc"
  std::filesystem::path runtime_root;   // passed as --root: installs never share state
  std::string install_id = "default";
  std::chrono::milliseconds command_timeout{30000};  // per crun/runc invocation
};

class OciRuntime : public ContainerRuntime {
 public:
  OciRuntime(OciRuntimeOptions options, ImageStore& images);

  std::string backend() const override { return "oci"; }
  Result<RuntimeVersion> version() override;
  Result<std::string> create(const ContainerSpec& spec) override;
  Status start(const std::string& id) override;
  Result<ExitStatus> wait(const std::string& id, std::chrono::milliseconds timeout) override;
  Status kill(const std::string& id, int signal) override;
  Status remove(const std::string& id, bool force) override;
  Result<std::vector<ContainerInfo>> list(const Labels& selector) override;
  Result<ContainerInfo> inspect(const std::string& id) override;
  // Read from the live init process (pid from the runtime's state): /proc/<pid>/status,
  // ns/*, mountinfo (see proc_security.hpp).
  Result<SecurityProfile> security_profile(const std::string& id) override;

  // Where the container's stdout/stderr go (for logs and diagnostics).
  std::filesystem::path output_log(const std::string& id) const { return bundle(id) / "output.log"; }

 private:
  std::filesystem::path bundle(const std::string& id) const { return options_.state_dir / id; }
  std::string cgroup_path(const std::string& id) const;
  Result<ProcessResult> oci(std::vector<std::string> args) const;
  // Reaps the container's init if it has exited (waiting up to `timeout`); returns the
  // recorded exit status if there is one. Error "container.timeout" if still running.
  Result<ExitStatus> reap(const std::string& id, std::chrono::milliseconds timeout);
  bool oom_killed(const std::string& id) const;

  OciRuntimeOptions options_;
  ImageStore& images_;
  std::mutex reap_mutex_;  // all reaping and exit.json writes happen under it
};

}  // namespace sb::container::oci
