#pragma once
// Security layer 1 (REFERENCE §1): input validation before anything reaches a
// container runtime. Pure functions; each rule has a test.
#include <string>
#include <string_view>
#include <vector>

#include "runtime/container/container_spec.hpp"
#include "runtime/core/result.hpp"

namespace sb::container {

// Non-empty, not starting with '-', only [A-Za-z0-9_.:/-].      "validation.name"
Status validate_container_name(std::string_view name);

// Non-empty, not starting with '-', [registry/]name[:tag][@digest].  "validation.image"
Status validate_image_reference(std::string_view image);

// None of --privileged, --cap-add, --security-opt, --device, --pid=host,
// --network=host, --userns=host, --ipc=host, in "--flag=value" or "--flag value"
// form.                                                           "validation.extra_args"
Status validate_extra_args(const std::vector<std::string>& args);

// Everything above plus the spec's own invariants (uid/gid not 0, limits >= 0,
// env names well formed).
Status validate_spec(const ContainerSpec& spec);

}  // namespace sb::container
