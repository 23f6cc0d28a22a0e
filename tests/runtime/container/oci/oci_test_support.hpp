#pragma once
// Shared fixture for the oci backend tests: real crun, as root, everything (images,
// bundles, crun --root) in a fresh temp dir; every container is force-removed at the
// end even when a test fails.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "runtime/container/oci/image_store.hpp"
#include "runtime/container/oci/oci_runtime.hpp"

namespace sb::container::oci::test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "sb-oci-test-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Host preparation (cgroup fix) once per process; fails the suite with a clear message.
inline void prepare_host_once() {
  static const int rc = std::system(SB_SOURCE_DIR "/deploy/prepare-host.sh >/dev/null");
  ASSERT_EQ(rc, 0) << "deploy/prepare-host.sh failed; the oci tests need root and a "
                      "working cgroup setup";
}

class OciFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    images_dir_ = std::make_unique<TempDir>();
    store_ = std::make_unique<ImageStore>(images_dir_->path() / "images");
    // busybox itself stands in for the agent binary (static, so it fits the image).
    auto st = store_->build_default_image("/bin/busybox", "test-agent:1");
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  static void TearDownTestSuite() {
    store_.reset();
    images_dir_.reset();
  }

  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "the oci backend tests need root (CI runs as root)";
    prepare_host_once();
    runtime_ = make_runtime("install-a");
  }
  void TearDown() override {
    for (auto* rt : {runtime_.get()})
      if (rt) cleanup(*rt);
  }

  std::unique_ptr<OciRuntime> make_runtime(const std::string& install) {
    OciRuntimeOptions o;
    o.state_dir = state_.path() / install / "state";
    o.runtime_root = state_.path() / install / "crun";
    o.install_id = install;
    return std::make_unique<OciRuntime>(o, *store_);
  }

  static void cleanup(OciRuntime& rt) {
    auto all = rt.list({});
    if (!all) return;
    for (const auto& c : *all) EXPECT_TRUE(rt.remove(c.id, true).ok()) << c.id;
  }

  static ContainerSpec spec(std::vector<std::string> command) {
    ContainerSpec s;
    s.name = "test";
    s.image = "test-agent:1";
    s.command = std::move(command);
    s.workdir = "/";
    s.limits = {64ll << 20, 64, 1000};
    return s;
  }
  static ContainerSpec sh(const std::string& script) { return spec({"/bin/sh", "-c", script}); }

  // create + start + wait; the container is removed afterwards.
  ExitStatus run(const ContainerSpec& s, OciRuntime* rt = nullptr) {
    rt = rt ? rt : runtime_.get();
    auto id = rt->create(s);
    EXPECT_TRUE(id.ok()) << id.error().message;
    if (!id) return {-1, false, 0};
    auto started = rt->start(*id);
    EXPECT_TRUE(started.ok()) << started.error().message;
    auto e = rt->wait(*id, std::chrono::seconds(60));
    EXPECT_TRUE(e.ok()) << e.error().message;
    EXPECT_TRUE(rt->remove(*id, true).ok());
    return e ? *e : ExitStatus{-1, false, 0};
  }

  static inline std::unique_ptr<TempDir> images_dir_;
  static inline std::unique_ptr<ImageStore> store_;
  TempDir state_;
  std::unique_ptr<OciRuntime> runtime_;
};

}  // namespace sb::container::oci::test
