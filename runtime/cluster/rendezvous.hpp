#pragma once
// Weighted rendezvous (highest random weight) hashing: every node computes the same owner
// for a resource from the same member list, without talking to the others, and a member
// joining or leaving moves only the resources it wins or held (about 1/n of them).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sb::cluster {

struct WeightedMember {
  std::string name;
  int64_t capacity = 1;  // > 0; twice the capacity wins about twice the resources
};

// The member's score for the resource: -capacity / ln(u), u = hash(member, resource) in
// (0, 1) (Schindelhauer and Schomaker's weighted form). Deterministic on every platform.
double rendezvous_score(std::string_view member, int64_t capacity, std::string_view resource);

// The highest-scoring member's name ("" when `members` is empty); ties go to the smaller
// name, so the answer never depends on the list's order.
std::string rendezvous_owner(std::string_view resource, const std::vector<WeightedMember>& members);

}  // namespace sb::cluster
