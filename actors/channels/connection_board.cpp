#include "actors/channels/connection_board.hpp"

namespace sb::actors {

void ConnectionBoard::set(const std::string& bot_id, ConnectionReport report) {
  std::lock_guard lock(mutex_);
  reports_[bot_id] = std::move(report);
}

std::optional<ConnectionReport> ConnectionBoard::get(const std::string& bot_id) const {
  std::lock_guard lock(mutex_);
  auto it = reports_.find(bot_id);
  if (it == reports_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, ConnectionReport> ConnectionBoard::all() const {
  std::lock_guard lock(mutex_);
  return reports_;
}

}  // namespace sb::actors
