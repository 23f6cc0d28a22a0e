#include "runtime/cluster/rendezvous.hpp"

#include <cmath>
#include <limits>

namespace sb::cluster {
namespace {

// FNV-1a over member '\0' resource, then the splitmix64 finaliser: FNV alone mixes the
// last bytes poorly, and names often differ only at their end ("node-1", "node-2").
uint64_t mix(std::string_view member, std::string_view resource) {
  uint64_t h = 1469598103934665603ull;
  auto feed = [&h](std::string_view text) {
    for (unsigned char ch : text) {
      h ^= ch;
      h *= 1099511628211ull;
    }
  };
  feed(member);
  h ^= 0;
  h *= 1099511628211ull;
  feed(resource);
  h += 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

}  // namespace

double rendezvous_score(std::string_view member, int64_t capacity, std::string_view resource) {
  // 53 bits into (0, 1): never 0 (ln 0) and never 1 (a score of infinity).
  const double u = (static_cast<double>(mix(member, resource) >> 11) + 0.5) / 9007199254740992.0;
  return -static_cast<double>(capacity > 0 ? capacity : 1) / std::log(u);
}

std::string rendezvous_owner(std::string_view resource, const std::vector<WeightedMember>& members) {
  std::string best;
  double best_score = -std::numeric_limits<double>::infinity();
  for (const auto& m : members) {
    const double score = rendezvous_score(m.name, m.capacity, resource);
    if (score > best_score || (score == best_score && m.name < best)) {
      best = m.name;
      best_score = score;
    }
  }
  return best;
}

}  // namespace sb::cluster
