// Who a container runs as: per-namespace host id ranges and the workspace owner rule.
#include "runtime/container/run_identity.hpp"

#include <gtest/gtest.h>

namespace sb::container {
namespace {

TEST(IdRanges, SlotsAreDisjointAndNeverHostRoot) {
  const IdRangeLayout layout;  // 200000 + N * 65536
  IdRange previous{};
  for (int64_t slot = 0; slot < 1000; ++slot) {
    auto r = id_range_for_slot(layout, slot);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->host_base, 200000u + static_cast<uint32_t>(slot) * 65536u);
    EXPECT_EQ(r->size, 65536u);
    EXPECT_GT(r->host_base, 60000u) << "above login uids";
    if (slot > 0) {
      EXPECT_GE(r->host_base, previous.host_base + previous.size) << slot;
    }
    previous = *r;
  }
}

TEST(IdRanges, RefusesHostRootAndOverflow) {
  EXPECT_EQ(id_range_for_slot({0, 65536}, 1).error().code, "container.bad_userns");
  EXPECT_EQ(id_range_for_slot({200000, 1000}, 1).error().code, "container.bad_userns");
  EXPECT_EQ(id_range_for_slot({200000, 65536}, -1).error().code, "container.bad_userns");
  // The last whole range below (uid_t)-1 fits, the next does not.
  const int64_t last = (int64_t{kMaxHostId} + 1 - 200000) / 65536 - 1;
  auto fits = id_range_for_slot({200000, 65536}, last);
  ASSERT_TRUE(fits) << fits.error().message;
  EXPECT_LE(uint64_t{fits->host_base} + fits->size - 1, uint64_t{kMaxHostId});
  EXPECT_EQ(id_range_for_slot({200000, 65536}, last + 1).error().code, "container.userns_exhausted");
  EXPECT_EQ(id_range_for_slot({200000, 65536}, int64_t{1} << 40).error().code, "container.userns_exhausted");
}

TEST(RunIdentity, NobodyInTheNamespaceRange) {
  const IdRange range{265536, 65536};
  auto id = decide_run_identity(RunUser::namespace_range, range, std::nullopt);
  EXPECT_EQ(id.uid, 65534u);
  EXPECT_EQ(id.gid, 65534u);
  ASSERT_TRUE(id.user_namespace);
  EXPECT_EQ(*id.user_namespace, range);
  EXPECT_FALSE(id.workspace_idmap);
  ContainerSpec s;
  s.uid = id.uid;
  s.gid = id.gid;
  s.user_namespace = id.user_namespace;
  EXPECT_EQ(s.host_uid(), 265536u + 65534u);
  EXPECT_EQ(s.host_gid(), 265536u + 65534u);
}

TEST(RunIdentity, OperatorWorkspaceIsIdmappedNotAdopted) {
  // The audit's case: the workspace belongs to the operator (1000). The process must not
  // become 1000 (keyrings, other files of that user); the workspace is idmapped instead.
  const IdRange range{200000, 65536};
  auto id = decide_run_identity(RunUser::namespace_range, range, HostOwner{1000, 1000});
  EXPECT_EQ(id.uid, 65534u);
  ASSERT_TRUE(id.user_namespace);
  ASSERT_TRUE(id.workspace_idmap);
  EXPECT_EQ(*id.workspace_idmap, (HostOwner{1000, 1000}));
}

TEST(RunIdentity, RootOwnedOrOwnWorkspaceNeedsNoIdmap) {
  const IdRange range{200000, 65536};
  EXPECT_FALSE(decide_run_identity(RunUser::namespace_range, range, HostOwner{0, 0}).workspace_idmap);
  EXPECT_FALSE(decide_run_identity(RunUser::namespace_range, range, HostOwner{265534, 265534}).workspace_idmap);
  // Never an idmap onto root, even for a root group.
  EXPECT_FALSE(decide_run_identity(RunUser::namespace_range, range, HostOwner{1000, 0}).workspace_idmap);
}

TEST(RunIdentity, WorkspaceOwnerOnlyWhenConfigured) {
  const IdRange range{200000, 65536};
  auto id = decide_run_identity(RunUser::workspace_owner, range, HostOwner{1000, 1000});
  EXPECT_EQ(id.uid, 1000u);
  EXPECT_EQ(id.gid, 1000u);
  EXPECT_FALSE(id.user_namespace);
  EXPECT_FALSE(id.workspace_idmap);
  // A root-owned workspace never makes the container root: the namespace range applies.
  auto root_ws = decide_run_identity(RunUser::workspace_owner, range, HostOwner{0, 0});
  EXPECT_EQ(root_ws.uid, 65534u);
  EXPECT_TRUE(root_ws.user_namespace);
}

TEST(RunIdentity, ParsesTheConfigValue) {
  EXPECT_EQ(parse_run_user("namespace"), RunUser::namespace_range);
  EXPECT_EQ(parse_run_user("workspace_owner"), RunUser::workspace_owner);
  EXPECT_FALSE(parse_run_user("root"));
}

}  // namespace
}  // namespace sb::container
