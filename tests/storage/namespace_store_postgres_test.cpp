// NamespaceStore on PostgreSQL: the cases of namespace_store_cases.hpp (namespaces,
// mappings, allowlists, the default policy), each in a schema of its own.
#include "tests/storage/namespace_store_cases.hpp"

namespace {
SB_STORE_SUITE_ON_POSTGRES(Store);
}  // namespace
