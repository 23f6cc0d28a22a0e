# Audit chain tools (security layer 6): the pure chain, verification of real database
# files (tampered through raw SQL), the API route, and `squadbox audit` against a node.
squadbox_test(sb_audit_tests
  SOURCES audit_chain_test.cpp audit_store_test.cpp audit_api_test.cpp
  LIBS sb_audit_chain sb_audit_api sb_admin sb_actors sb_http sb_storage)

squadbox_test(sb_audit_cli_tests SOURCES audit_cli_test.cpp LIBS sb_audit_chain sb_http sb_storage)
add_dependencies(sb_audit_cli_tests squadbox)
