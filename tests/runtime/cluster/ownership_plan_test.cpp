#include "runtime/cluster/ownership_plan.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace sb::cluster {
namespace {

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

PlanInput three_nodes(const std::string& self) {
  PlanInput in;
  in.self = self;
  in.members = {
      {"a", 1, MemberState::active, true}, {"b", 1, MemberState::active, true}, {"c", 1, MemberState::active, true}};
  for (int i = 0; i < 30; ++i) in.resources.push_back("ns:" + std::to_string(i));
  return in;
}

TEST(OwnershipPlan, EachFreeResourceIsAcquiredByExactlyOneMember) {
  std::map<std::string, int> takers;
  for (const char* self : {"a", "b", "c"}) {
    auto plan = plan_ownership(three_nodes(self));
    EXPECT_TRUE(plan.release.empty());
    for (const auto& r : plan.acquire) ++takers[r];
  }
  EXPECT_EQ(takers.size(), 30u);
  for (const auto& [r, n] : takers) EXPECT_EQ(n, 1) << r;
}

TEST(OwnershipPlan, ALiveLeaseOfAnotherIsLeftAloneEvenWhenSelfShouldOwnIt) {
  auto in = three_nodes("a");
  const auto mine = plan_ownership(in).acquire;
  ASSERT_FALSE(mine.empty());
  in.leases.push_back({mine[0], "b", 4, true});
  auto plan = plan_ownership(in);
  EXPECT_FALSE(has(plan.acquire, mine[0]));
  // b gives it up (between turns): it is a's by rendezvous.
  in.self = "b";
  EXPECT_TRUE(has(plan_ownership(in).release, mine[0]));
  in.busy.insert(mine[0]);
  EXPECT_FALSE(has(plan_ownership(in).release, mine[0])) << "a namespace in a turn does not move";
}

TEST(OwnershipPlan, AnExpiredLeaseOfADeadMemberGoesToTheSurvivorsRendezvousOwner) {
  auto in = three_nodes("a");
  in.members[2].live = false;  // c died
  for (const auto& r : in.resources) in.leases.push_back({r, "c", 2, false});
  std::map<std::string, int> takers;
  for (const char* self : {"a", "b"}) {
    in.self = self;
    for (const auto& r : plan_ownership(in).acquire) ++takers[r];
  }
  EXPECT_EQ(takers.size(), 30u);
  // A live lease of the dead member is not taken before it expires.
  in.self = "a";
  for (auto& l : in.leases) l.live = true;
  EXPECT_TRUE(plan_ownership(in).acquire.empty());
}

TEST(OwnershipPlan, ADrainingMemberReleasesEverythingIdleAndTakesNothing) {
  auto in = three_nodes("a");
  in.members[0].state = MemberState::draining;
  for (const auto& r : in.resources) in.leases.push_back({r, "a", 1, true});
  in.busy.insert("ns:3");
  auto plan = plan_ownership(in);
  EXPECT_TRUE(plan.acquire.empty());
  EXPECT_EQ(plan.release.size(), 29u);
  EXPECT_FALSE(has(plan.release, "ns:3"));
  in.leases.clear();
  EXPECT_TRUE(plan_ownership(in).acquire.empty());
}

TEST(OwnershipPlan, TheLastMemberKeepsItsWorkWhileDraining) {
  PlanInput in;
  in.self = "a";
  in.members = {{"a", 1, MemberState::draining, true}};
  in.resources = {"ns:1"};
  in.leases = {{"ns:1", "a", 1, true}};
  auto plan = plan_ownership(in);
  EXPECT_TRUE(plan.release.empty()) << "nobody could take it";
}

TEST(OwnershipPlan, PlacementPinsAResourceToTheNamedMembers) {
  auto in = three_nodes("a");
  in.placement["ns:7"] = {"c"};
  EXPECT_EQ(desired_owner(in, "ns:7"), "c");
  EXPECT_FALSE(has(plan_ownership(in).acquire, "ns:7"));
  in.members[2].live = false;
  auto plan = plan_ownership(in);
  EXPECT_TRUE(has(plan.waiting, "ns:7"));
  EXPECT_FALSE(has(plan.acquire, "ns:7"));
}

TEST(OwnershipPlan, ALeaseOfARemovedResourceIsReleased) {
  auto in = three_nodes("a");
  in.leases.push_back({"ns:gone", "a", 3, true});
  EXPECT_TRUE(has(plan_ownership(in).release, "ns:gone"));
  in.busy.insert("ns:gone");
  EXPECT_FALSE(has(plan_ownership(in).release, "ns:gone"));
}

}  // namespace
}  // namespace sb::cluster
