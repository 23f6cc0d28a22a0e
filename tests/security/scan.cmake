# Periodic security audit of running containers (layer 6, docs/security-audit.md).

# Pure assessment, /proc and Docker JSON parsers on fixtures, the scanner and the
# auditor actor over an in-memory runtime.
squadbox_test(sb_security_scan_tests
  SOURCES scan_assess_test.cpp scan_parsers_test.cpp scan_scanner_test.cpp scan_auditor_test.cpp
  LIBS sb_security_scan sb_container_oci sb_container_docker sb_actors)
target_include_directories(sb_security_scan_tests SYSTEM PRIVATE ${RAPIDJSON_INCLUDE_DIRS})

# Real crun containers (root): the oci backend's observed profile, the scanner stopping
# unknown, drifted and overdue containers, and a supervised run registering itself.
squadbox_test(sb_security_scan_oci_tests SOURCES scan_oci_test.cpp
  LIBS sb_security_scan sb_container_oci sb_container sb_actors)
target_compile_definitions(sb_security_scan_oci_tests PRIVATE SB_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_include_directories(sb_security_scan_oci_tests SYSTEM PRIVATE ${RAPIDJSON_INCLUDE_DIRS})

# Real Docker Engine 26 started by the suite itself (deploy/docker-engine.sh): one CTest
# entry, one dockerd for all its tests.
squadbox_test(sb_security_scan_docker_tests WHOLE SOURCES scan_docker_test.cpp
  LIBS sb_security_scan sb_container_docker)
target_compile_definitions(sb_security_scan_docker_tests PRIVATE SQUADBOX_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
