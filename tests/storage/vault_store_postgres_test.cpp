// The Vault on PostgreSQL: the cases of vault_store_cases.hpp, the secrets in a schema of
// their own on the binary's throwaway server, the key file in a temp dir.
#include "tests/storage/vault_store_cases.hpp"

namespace {
SB_STORE_SUITE_ON_POSTGRES(VaultStore);
}  // namespace
