// ImageStore: reference parsing, the default image, and import via skopeo + umoci.
#include <fstream>

#include "runtime/container/oci/subprocess.hpp"
#include "tests/runtime/container/oci/oci_test_support.hpp"

namespace sb::container::oci::test {
namespace {

TEST(ImageRef, Parse) {
  EXPECT_EQ(parse_image_ref("a")->str(), "a:latest");
  EXPECT_EQ(parse_image_ref("ghcr.io/x/y:1.2")->name, "ghcr.io/x/y");
  EXPECT_EQ(parse_image_ref("localhost:5000/y")->str(), "localhost:5000/y:latest");
  EXPECT_EQ(parse_image_ref("a@sha256:00").error().code, "image.digest_unsupported");
  for (const char* bad : {"", "-a", "/a", "a/../b", "a b", "a:", "a/"}) EXPECT_FALSE(parse_image_ref(bad).ok()) << bad;
}

using OciImageTest = OciFixture;

TEST_F(OciImageTest, DefaultImageLayout) {
  auto img = store_->resolve("test-agent:1");
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->defaults.entrypoint, std::vector<std::string>{"/usr/local/bin/squadbox-agent"});
  EXPECT_EQ(img->defaults.workdir, "/workspace");
  for (const char* p : {"bin/busybox", "bin/sh", "usr/local/bin/squadbox-agent", "workspace", "tmp"})
    EXPECT_TRUE(fs::exists(img->rootfs / p)) << p;
  std::ifstream passwd(img->rootfs / "etc/passwd");
  std::string all((std::istreambuf_iterator<char>(passwd)), {});
  EXPECT_NE(all.find("nobody:x:65534:65534:"), std::string::npos);
  EXPECT_EQ(store_->list(), std::vector<std::string>{"test-agent:1"});
}

TEST_F(OciImageTest, RefusesDynamicAgent) {
  TempDir d;
  ImageStore s(d.path());
  auto st = s.build_default_image("/bin/ls", "x:1");  // coreutils ls is dynamic
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "image.agent_not_static");
}

TEST_F(OciImageTest, ImportOciLayoutAndDockerArchive) {
  // An OCI layout made with umoci from the busybox rootfs, entrypoint exits 5.
  TempDir work;
  auto img = store_->resolve("test-agent:1");
  ASSERT_TRUE(img.ok());
  std::string layout = (work.path() / "layout").string();
  auto must = [](std::vector<std::string> argv) {
    auto r = run_process(argv);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(r->ok()) << r->describe(argv[0] + " " + argv[1]);
  };
  must({"umoci", "init", "--layout", layout});
  must({"umoci", "new", "--image", layout + ":t"});
  must({"umoci", "insert", "--image", layout + ":t", img->rootfs.string(), "/"});
  must({"umoci", "config", "--image", layout + ":t", "--config.entrypoint", "/bin/sh", "--config.cmd", "-c",
        "--config.cmd", "exit 5", "--config.workingdir", "/tmp"});
  ASSERT_TRUE(store_->import_archive("oci:" + layout + ":t", "imported:oci").ok());
  auto r = store_->resolve("imported:oci");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->defaults.entrypoint, std::vector<std::string>{"/bin/sh"});
  EXPECT_EQ(r->defaults.cmd, (std::vector<std::string>{"-c", "exit 5"}));
  EXPECT_EQ(r->defaults.workdir, "/tmp");
  auto s = spec({});
  s.image = "imported:oci";
  EXPECT_EQ(run(s).exit_code, 5);

  std::string archive = (work.path() / "image.tar").string();
  must({"skopeo", "copy", "--quiet", "--insecure-policy", "oci:" + layout + ":t",
        "docker-archive:" + archive + ":imported:docker"});
  auto st = store_->import_archive(archive, "imported:docker");  // plain path: docker archive
  ASSERT_TRUE(st.ok()) << st.error().message;
  s.image = "imported:docker";
  EXPECT_EQ(run(s).exit_code, 5);
  EXPECT_FALSE(store_->import_archive(work.path().string() + "/missing.tar", "x:1").ok());
  EXPECT_TRUE(store_->remove("imported:oci").ok());
  EXPECT_EQ(store_->resolve("imported:oci").error().code, "image.not_found");
}

}  // namespace
}  // namespace sb::container::oci::test
