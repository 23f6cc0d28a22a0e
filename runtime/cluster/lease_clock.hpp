#pragma once
// Self-fencing. The database judges a lease by its own clock: it expires TTL after the
// renewal that the database processed. This node cannot see that clock, but it knows the
// renewal was processed after it was sent; so the lease lives at least until
// sent + TTL (on this node's monotonic clock, give or take clock rate). The node stops
// serving at sent + TTL/2, before anyone else may take its work, and renews often enough
// that two renewals in a row may fail before that happens.
#include <chrono>
#include <optional>

namespace sb::cluster {

class LeaseClock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  explicit LeaseClock(std::chrono::milliseconds ttl) : ttl_(ttl) {}

  // A renewal sent at `sent` was confirmed by the database.
  void renewed(time_point sent) {
    if (!last_ || sent > *last_) last_ = sent;
  }
  // May this node act as owner at `now`?
  bool serving(time_point now) const { return last_ && now < *last_ + ttl_ / 2; }
  // The moment serving() turns false without a new renewal (nullopt: never renewed).
  std::optional<time_point> fence_at() const {
    if (!last_) return std::nullopt;
    return *last_ + ttl_ / 2;
  }
  // How often to renew and to read the tables: a tenth of the TTL, 50 ms .. 1 s (a
  // takeover waits at most this long after a dead owner's lease ran out).
  std::chrono::milliseconds renew_every() const {
    auto every = ttl_ / 10;
    if (every < std::chrono::milliseconds(50)) every = std::chrono::milliseconds(50);
    if (every > std::chrono::milliseconds(1000)) every = std::chrono::milliseconds(1000);
    return every;
  }
  std::chrono::milliseconds ttl() const { return ttl_; }

 private:
  std::chrono::milliseconds ttl_;
  std::optional<time_point> last_;
};

}  // namespace sb::cluster
