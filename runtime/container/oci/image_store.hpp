#pragma once
// Local image store for the oci backend: unpacked root filesystems on disk, no daemon.
//   <root>/<name>/<tag>/rootfs/      the image's filesystem (shared read-only by containers)
//   <root>/<name>/<tag>/image.json   {"entrypoint":[],"cmd":[],"env":[],"workdir":""}
// '/' in a name is stored as '+' so "ghcr.io/a/b:1" is one directory level.
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/container/oci/debian_image.hpp"
#include "runtime/container/oci/oci_config.hpp"
#include "runtime/core/result.hpp"

namespace sb::container::oci {

inline constexpr const char* kDefaultAgentImage = "squadbox-agent:latest";

struct ImageRef {
  std::string name;
  std::string tag;  // "latest" when omitted
  std::string str() const { return name + ":" + tag; }
};

// "name[:tag]"; digests are refused ("image.digest_unsupported"): the local store keeps
// no content addresses. Error "image.bad_ref" for anything else malformed.
Result<ImageRef> parse_image_ref(const std::string& ref);

struct ResolvedImage {
  ImageRef ref;
  std::filesystem::path rootfs;
  ImageDefaults defaults;
};

class ImageStore {
 public:
  explicit ImageStore(std::filesystem::path root) : root_(std::move(root)) {}
  const std::filesystem::path& root() const { return root_; }

  // "image.not_found" names the image and how to build or import it.
  Result<ResolvedImage> resolve(const std::string& ref) const;
  // Installed images as "name:tag".
  std::vector<std::string> list() const;
  Status remove(const std::string& ref);

  // Imports from "docker-archive:PATH", "oci-archive:PATH", "oci:DIR[:TAG]" or a plain
  // path (a directory with an oci-layout file is an OCI layout, a file a docker archive)
  // via skopeo (into a temporary OCI layout) and umoci (unpack). Replaces an existing
  // image of the same ref atomically.
  Status import_archive(const std::string& source, const std::string& ref);

  // The default agent image: busybox-static (+ applet links), the agent binary (must be
  // statically linked: the image has no libc) at /usr/local/bin/squadbox-agent,
  // /workspace, /tmp, and /etc/passwd+group with nobody (65534).
  Status build_default_image(const std::string& agent_binary, const std::string& ref = kDefaultAgentImage,
                             const std::string& busybox = "/bin/busybox");

  // A Debian image (debian_image.hpp): mmdebstrap (minbase + plan.packages) from
  // plan.mirror, then the agent binary at /usr/local/bin/squadbox-agent and /workspace.
  // Errors: "image.build_failed" with mmdebstrap's own words, "image.io".
  Status build_debian_image(const std::string& agent_binary, const DebianImagePlan& plan,
                            const std::string& ref = kDefaultDebianImage);

 private:
  std::filesystem::path dir_for(const ImageRef& ref) const;
  // Moves a finished staging dir (with rootfs/ and image.json) into place.
  Status install(const std::filesystem::path& staging, const ImageRef& ref);

  std::filesystem::path root_;
};

}  // namespace sb::container::oci
