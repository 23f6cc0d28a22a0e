#pragma once
// A Debian 12 agent image for real work (`squadbox image build --debian`): a minbase
// root filesystem made by mmdebstrap from the machine's own Debian mirror (no container
// registry), the operator's extra packages, and the static agent binary. The plan is
// pure (which mirror, which command); ImageStore::build_debian_image runs it.
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/result.hpp"

namespace sb::container::oci {

inline constexpr const char* kDefaultDebianSuite = "bookworm";
inline constexpr const char* kDefaultDebianImage = "squadbox-debian:latest";

struct DebianImagePlan {
  std::string suite = kDefaultDebianSuite;
  std::string mirror;                 // e.g. "http://deb.debian.org/debian"
  std::vector<std::string> packages;  // beyond minbase
};

// The first `URIs:` of a deb822 source (/etc/apt/sources.list.d/debian.sources) whose
// Suites include `suite` and whose URI is not a security archive, else the first `deb URI
// suite` line of a one-line sources.list. "image.no_mirror" when none is found.
Result<std::string> debian_mirror_from_sources(std::string_view deb822, std::string_view one_line,
                                               std::string_view suite = kDefaultDebianSuite);

// "git,python3, curl" -> {"git","python3","curl"}; names must be Debian package names
// ([a-z0-9][a-z0-9+.-]+): "image.bad_package" names the first that is not.
Result<std::vector<std::string>> parse_package_list(std::string_view csv);

// The plan on this machine: `mirror`, or else the one its apt sources name
// (/etc/apt/sources.list.d/debian.sources, /etc/apt/sources.list). Reads those files.
Result<DebianImagePlan> debian_plan(std::string_view packages_csv, std::string mirror,
                                    std::string suite = kDefaultDebianSuite);

// The mmdebstrap command that makes the root filesystem in `rootfs` (an existing empty
// directory, so the mode is root and nothing runs through a shell).
std::vector<std::string> mmdebstrap_argv(const DebianImagePlan& plan, const std::string& rootfs);

}  // namespace sb::container::oci
