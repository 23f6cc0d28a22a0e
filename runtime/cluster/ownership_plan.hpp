#pragma once
// Which leases this node should take and which it should give up, decided from what the
// database says (members, leases) and what the node knows (which of its namespaces are in
// the middle of a turn). Pure: the cluster actor reads the tables, calls plan_ownership,
// and carries out the plan with compare-and-set writes; the database stays the judge.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sb::cluster {

enum class MemberState : uint8_t { active, draining };

struct MemberInfo {
  std::string name;
  int64_t capacity = 1;
  MemberState state = MemberState::active;
  bool live = false;  // its membership lease has not expired (database clock)
};

struct LeaseInfo {
  std::string resource;  // "ns:<uuid>", "bot:<platform>/<name>"
  std::string holder;
  int64_t epoch = 0;
  bool live = false;
};

struct PlanInput {
  std::string self;
  std::vector<MemberInfo> members;     // self included
  std::vector<std::string> resources;  // everything that should have an owner
  std::vector<LeaseInfo> leases;
  // Resources self holds that must not move now (a namespace in the middle of a turn).
  std::set<std::string> busy;
  // Placement: a resource listed here may be owned only by these members (a namespace
  // whose workspace is a folder on some machines). Absent: any member.
  std::map<std::string, std::set<std::string>> placement;
};

struct OwnershipPlan {
  std::vector<std::string> acquire;  // free or expired, and self is the rendezvous owner
  std::vector<std::string> release;  // held by self, another live member should own it, not busy
  std::vector<std::string> waiting;  // no member may own it now (placement names no live member)
};

// The members that may own `resource`: live, active, allowed by placement.
std::vector<std::string> eligible_members(const PlanInput& in, const std::string& resource);

// The member that should own `resource` ("" = none may).
std::string desired_owner(const PlanInput& in, const std::string& resource);

OwnershipPlan plan_ownership(const PlanInput& in);

}  // namespace sb::cluster
