#include "runtime/cluster/rendezvous.hpp"

#include <algorithm>
#include <map>
#include <string>

#include <gtest/gtest.h>

namespace sb::cluster {
namespace {

std::vector<std::string> resources(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("ns:" + std::to_string(i * 7919) + "-group");
  return out;
}

TEST(Rendezvous, TheOwnerDoesNotDependOnTheMembersOrder) {
  std::vector<WeightedMember> a{{"node-1", 1}, {"node-2", 1}, {"node-3", 2}};
  std::vector<WeightedMember> b{{"node-3", 2}, {"node-1", 1}, {"node-2", 1}};
  for (const auto& r : resources(200)) EXPECT_EQ(rendezvous_owner(r, a), rendezvous_owner(r, b)) << r;
  EXPECT_EQ(rendezvous_owner("ns:x", {}), "");
}

TEST(Rendezvous, EqualMembersGetAboutEqualShares) {
  std::vector<WeightedMember> members{{"node-1", 1}, {"node-2", 1}, {"node-3", 1}};
  std::map<std::string, int> share;
  for (const auto& r : resources(3000)) ++share[rendezvous_owner(r, members)];
  for (const auto& m : members) EXPECT_NEAR(share[m.name], 1000, 120) << m.name;
}

TEST(Rendezvous, CapacityWeighsTheShare) {
  std::vector<WeightedMember> members{{"small", 1}, {"big", 3}};
  std::map<std::string, int> share;
  for (const auto& r : resources(4000)) ++share[rendezvous_owner(r, members)];
  EXPECT_NEAR(share["big"], 3000, 200);
  EXPECT_NEAR(share["small"], 1000, 200);
}

TEST(Rendezvous, AJoiningMemberTakesOnlyFromOthersWhatItWins) {
  std::vector<WeightedMember> two{{"node-1", 1}, {"node-2", 1}};
  auto three = two;
  three.push_back({"node-3", 1});
  int moved = 0;
  for (const auto& r : resources(3000)) {
    const auto before = rendezvous_owner(r, two);
    const auto after = rendezvous_owner(r, three);
    if (before != after) {
      ++moved;
      EXPECT_EQ(after, "node-3") << r << ": moved between the old members";
    }
  }
  EXPECT_NEAR(moved, 1000, 120);
}

TEST(Rendezvous, ALeavingMemberGivesUpOnlyItsOwn) {
  std::vector<WeightedMember> three{{"node-1", 1}, {"node-2", 1}, {"node-3", 1}};
  std::vector<WeightedMember> two{{"node-1", 1}, {"node-3", 1}};
  for (const auto& r : resources(1000)) {
    const auto before = rendezvous_owner(r, three);
    if (before != "node-2") EXPECT_EQ(rendezvous_owner(r, two), before) << r;
  }
}

TEST(Rendezvous, ScoresArePositiveAndFinite) {
  for (const auto& r : resources(500)) {
    const double s = rendezvous_score("node-1", 1, r);
    EXPECT_GT(s, 0.0);
    EXPECT_TRUE(std::isfinite(s));
  }
}

}  // namespace
}  // namespace sb::cluster
