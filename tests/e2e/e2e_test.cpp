// The end-to-end suite (end_to_end_cases.hpp) on the default engine: the node keeps its
// state in the SQLite file of its data dir.
#include <string>

#include "tests/e2e/e2e_node.hpp"

namespace sb::test::e2e {
namespace {

std::string prepare_storage(NodeSettings&) {
  return "";
}

}  // namespace
}  // namespace sb::test::e2e

#include "tests/e2e/end_to_end_cases.hpp"
