# Mount allowlist (security layer 2): pure rules, the hostile corpus (root: a private
# mount namespace for the bind-mount loop), the reloading store, MountPolicy on top.
squadbox_test(sb_allowlist_tests
  SOURCES allowlist_rules_test.cpp allowlist_corpus_test.cpp allowlist_store_test.cpp allowlist_policy_test.cpp
  LIBS sb_allowlist sb_container)

# The check-then-use race against real crun (root).
squadbox_test(sb_allowlist_oci_tests SOURCES allowlist_oci_test.cpp LIBS sb_container_oci sb_container)
target_compile_definitions(sb_allowlist_oci_tests PRIVATE SB_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

# `squadbox mounts check` through the real binary.
squadbox_test(sb_allowlist_cli_tests SOURCES allowlist_cli_test.cpp)
add_dependencies(sb_allowlist_cli_tests squadbox)

# Docker/Apple: the re-verify right before create (no daemon needed).
squadbox_test(sb_allowlist_backend_tests SOURCES allowlist_backends_test.cpp
  LIBS sb_container_docker sb_container_apple sb_container)

# The ContainerSupervisor's mount step with the allowlist (real crun, real agent).
squadbox_test(sb_allowlist_run_tests SOURCES allowlist_supervisor_test.cpp
  LIBS sb_actors sb_container_oci sb_container)
target_compile_definitions(sb_allowlist_run_tests PRIVATE SB_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(sb_allowlist_run_tests squadbox-agent)
