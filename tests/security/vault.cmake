# Vault (security layer 3): pure crypto, the Vault on real files, the admin API routes,
# and the `squadbox secret` commands against a real node.
squadbox_test(sb_vault_tests
  SOURCES vault_crypto_test.cpp vault_test.cpp vault_api_test.cpp
  LIBS sb_vault sb_vault_api sb_admin sb_actors sb_http sb_storage)

squadbox_test(sb_vault_cli_tests SOURCES vault_cli_test.cpp LIBS sb_vault sb_http sb_storage)
add_dependencies(sb_vault_cli_tests squadbox)
