// Crash safety on SQLite (crash_harness.hpp): a writer SIGKILLed mid-batch loses no
// acknowledged row and stores no batch in part, and the file opens clean: integrity_check
// passes and migrate() is a no-op. Power loss is what synchronous=FULL adds on top and
// cannot be simulated here.
#include <gtest/gtest.h>

#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"
#include "tests/storage/crash_harness.hpp"
#include "tests/support/storage_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace sb::storage {
namespace {

TEST(StorageCrash, AcknowledgedWritesSurviveSigkill) {
  test::TempDir dir;
  crash::run_rounds(dir.file("squadbox.db"), [](Database& db) {
    EXPECT_EQ(test::query_text(db, "PRAGMA integrity_check"), "ok");
    const int64_t cookie = test::query_int(db, "PRAGMA schema_version");
    ASSERT_TRUE(migrate(db));
    EXPECT_EQ(test::query_int(db, "PRAGMA schema_version"), cookie) << "migrate was not a no-op";
  });
}

}  // namespace
}  // namespace sb::storage
