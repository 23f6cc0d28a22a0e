// namespace_rows on PostgreSQL: the cases of namespace_rows_cases.hpp, each in a schema of
// its own on the binary's throwaway server.
#include "tests/storage/namespace_rows_cases.hpp"

namespace {
SB_STORE_SUITE_ON_POSTGRES(NamespaceRows);
}  // namespace
