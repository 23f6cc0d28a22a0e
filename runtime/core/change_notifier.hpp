#pragma once
// Runs a store's change hook when a committed change leaves scope. Declare it before
// the lock guard, so the hook runs after the lock is released (it may call back into
// the store). Set `fire` once the change has committed.
#include <functional>

namespace sb {

struct ChangeNotifier {
  const std::function<void()>& hook;
  bool fire = false;
  ~ChangeNotifier() {
    if (fire && hook) hook();
  }
};

}  // namespace sb
