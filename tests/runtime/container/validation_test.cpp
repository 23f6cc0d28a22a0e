#include "runtime/container/validation.hpp"

#include <gtest/gtest.h>

namespace {

using namespace sb::container;

TEST(ContainerName, AcceptsTheAllowedAlphabet) {
  for (const char* ok : {"a", "squadbox-main_1.run:2/x", "A9", "x-"})
    EXPECT_TRUE(validate_container_name(ok).ok()) << ok;
}

TEST(ContainerName, RejectsEmptyLeadingDashAndOtherCharacters) {
  EXPECT_EQ(validate_container_name("").error().code, "validation.name");
  EXPECT_FALSE(validate_container_name("-rm").ok());
  for (const char* bad : {"a b", "a;b", "a$b", "a\nb", "ä", "a@b", "a\\b"})
    EXPECT_FALSE(validate_container_name(bad).ok()) << bad;
}

TEST(ImageReference, AcceptsRegistryNameTagAndDigest) {
  for (const char* ok : {"busybox", "squadbox-agent:latest", "library/busybox:1.36", "ghcr.io/org/agent:v1.2.3",
                         "localhost:5000/agent", "registry.example.com:443/a/b/c:tag_1",
                         "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                         "a/b:t@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})
    EXPECT_TRUE(validate_image_reference(ok).ok()) << ok;
}

TEST(ImageReference, RejectsMalformedReferences) {
  EXPECT_EQ(validate_image_reference("").error().code, "validation.image");
  for (const char* bad : {"-busybox", "--privileged", "Busybox", "busybox:", "busybox:-tag", "busy box", "a//b",
                          "busybox@sha256:short", "busybox:tag:tag", "/busybox", "busybox/", "bus$ybox"})
    EXPECT_FALSE(validate_image_reference(bad).ok()) << bad;
}

TEST(ExtraArgs, EveryDeniedFlagIsRejectedInBothForms) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{{"--privileged"},
                                                                             {"--cap-add=SYS_ADMIN"},
                                                                             {"--cap-add", "NET_ADMIN"},
                                                                             {"--security-opt=seccomp=unconfined"},
                                                                             {"--security-opt", "apparmor=unconfined"},
                                                                             {"--device=/dev/kvm"},
                                                                             {"--device", "/dev/sda"},
                                                                             {"--pid=host"},
                                                                             {"--pid", "host"},
                                                                             {"--network=host"},
                                                                             {"--network", "host"},
                                                                             {"--net=host"},
                                                                             {"--userns=host"},
                                                                             {"--userns", "host"},
                                                                             {"--ipc=host"},
                                                                             {"--ipc", "host"},
                                                                             {"--rm", "--privileged"}}) {
    auto s = validate_extra_args(args);
    EXPECT_FALSE(s.ok()) << args[0];
    if (!s.ok()) {
      EXPECT_EQ(s.error().code, "validation.extra_args");
    }
  }
}

TEST(ExtraArgs, HarmlessArgumentsPass) {
  EXPECT_TRUE(validate_extra_args({}).ok());
  EXPECT_TRUE(validate_extra_args({"--network=none", "--pid", "container:x", "--label", "a=b"}).ok());
  EXPECT_TRUE(validate_extra_args({"--ipc=private", "--userns=keep-id"}).ok());
}

ContainerSpec good_spec() {
  ContainerSpec s;
  s.name = "squadbox-test";
  s.image = "squadbox-agent:latest";
  return s;
}

TEST(Spec, RootIsNeverAllowed) {
  auto s = good_spec();
  EXPECT_TRUE(validate_spec(s).ok());
  s.uid = 0;
  EXPECT_EQ(validate_spec(s).error().code, "validation.user");
  s = good_spec();
  s.gid = 0;
  EXPECT_FALSE(validate_spec(s).ok());
}

TEST(Spec, NegativeLimitsAndBadEnvNamesAreRejected) {
  auto s = good_spec();
  s.limits.memory_bytes = -1;
  EXPECT_EQ(validate_spec(s).error().code, "validation.limits");
  s = good_spec();
  s.env["BAD-NAME"] = "x";
  EXPECT_EQ(validate_spec(s).error().code, "validation.env");
  s = good_spec();
  s.extra_args = {"--privileged"};
  EXPECT_EQ(validate_spec(s).error().code, "validation.extra_args");
  s = good_spec();
  s.image = "-x";
  EXPECT_EQ(validate_spec(s).error().code, "validation.image");
}

}  // namespace
