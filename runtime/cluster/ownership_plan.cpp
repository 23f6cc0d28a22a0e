#include "runtime/cluster/ownership_plan.hpp"

#include <algorithm>

#include "runtime/cluster/rendezvous.hpp"

namespace sb::cluster {
namespace {

std::vector<WeightedMember> candidates(const PlanInput& in, const std::string& resource) {
  const auto pinned = in.placement.find(resource);
  std::vector<WeightedMember> out;
  for (const auto& m : in.members) {
    if (!m.live || m.state != MemberState::active) continue;
    if (pinned != in.placement.end() && !pinned->second.count(m.name)) continue;
    out.push_back({m.name, m.capacity});
  }
  return out;
}

}  // namespace

std::vector<std::string> eligible_members(const PlanInput& in, const std::string& resource) {
  std::vector<std::string> out;
  for (const auto& m : candidates(in, resource)) out.push_back(m.name);
  return out;
}

std::string desired_owner(const PlanInput& in, const std::string& resource) {
  return rendezvous_owner(resource, candidates(in, resource));
}

OwnershipPlan plan_ownership(const PlanInput& in) {
  OwnershipPlan plan;
  std::map<std::string, const LeaseInfo*> lease_of;
  for (const auto& l : in.leases) lease_of[l.resource] = &l;
  std::set<std::string> wanted(in.resources.begin(), in.resources.end());

  for (const auto& resource : wanted) {
    const auto desired = desired_owner(in, resource);
    const auto it = lease_of.find(resource);
    const LeaseInfo* lease = it == lease_of.end() ? nullptr : it->second;
    if (lease && lease->live) {
      // Held: only its holder may give it up, between turns, to a member that should own it.
      if (lease->holder == in.self && !desired.empty() && desired != in.self && !in.busy.count(resource))
        plan.release.push_back(resource);
      continue;
    }
    if (desired.empty()) {
      plan.waiting.push_back(resource);
    } else if (desired == in.self) {
      plan.acquire.push_back(resource);
    }
  }
  // Held by self but no longer wanted (a namespace was deleted, a bot removed).
  for (const auto& l : in.leases)
    if (l.live && l.holder == in.self && !wanted.count(l.resource) && !in.busy.count(l.resource))
      plan.release.push_back(l.resource);
  std::sort(plan.release.begin(), plan.release.end());
  return plan;
}

}  // namespace sb::cluster
