#pragma once
// A crun runtime for container tests (root only): the default agent image built from this
// build's squadbox-agent under `dir`/images, container state under `dir`/oci. The image
// store must outlive the runtime; both are returned together.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "runtime/container/oci/image_store.hpp"
#include "runtime/container/oci/oci_runtime.hpp"
#include "tests/support/child_process.hpp"

namespace sb::test {

struct OciTestRuntime {
  std::unique_ptr<container::oci::ImageStore> images;
  std::shared_ptr<container::oci::OciRuntime> runtime;
};

// "" when the host can run containers (root, cgroups prepared by deploy/prepare-host.sh),
// else why not. For a suite's SetUpTestSuite: ASSERT_EQ(prepare_container_host(), "").
inline std::string prepare_container_host() {
  if (::geteuid() != 0) return "container tests need root (CI runs as root)";
  if (std::system(SB_SOURCE_DIR "/deploy/prepare-host.sh >/dev/null") != 0) return "deploy/prepare-host.sh failed";
  return "";
}

inline Result<OciTestRuntime> make_oci_test_runtime(const std::string& dir, const std::string& install_id) {
  namespace fs = std::filesystem;
  OciTestRuntime out;
  out.images = std::make_unique<container::oci::ImageStore>(fs::path(dir) / "images");
  if (auto built = out.images->build_default_image(bin_dir() + "/squadbox-agent"); !built) return built.error();
  container::oci::OciRuntimeOptions o;
  o.state_dir = fs::path(dir) / "oci" / "containers";
  o.runtime_root = fs::path(dir) / "oci" / "state";
  o.install_id = install_id;
  fs::create_directories(o.state_dir);
  out.runtime = std::make_shared<container::oci::OciRuntime>(o, *out.images);
  return out;
}

}  // namespace sb::test
