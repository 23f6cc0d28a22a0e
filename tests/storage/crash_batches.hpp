#pragma once
// The batch sizes of sb_storage_crash_child, shared with the test that kills it: the child
// commits ids 0, 1, 2, ... in batches of these sizes (1..500, a fixed pseudo-random
// sequence), so the test knows where every batch ends and can tell a whole batch from part
// of one.
#include <cstdint>

namespace sb::storage::crash {

class BatchSizes {
 public:
  int64_t next() {
    lcg_ = lcg_ * 1103515245u + 12345u;
    return 1 + static_cast<int64_t>((lcg_ >> 16) % 500);
  }

 private:
  uint32_t lcg_ = 12345;
};

}  // namespace sb::storage::crash
