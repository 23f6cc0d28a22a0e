#pragma once
// Where each bot that connects out (Telegram polling, Discord Gateway, Slack Socket
// Mode) says how its connection is: its actor writes, the admin API (`/readyz`,
// `GET /api/v1/container/channels`, `squadbox channels list`) reads. Thread-safe; one
// board per node, owned by the composition root.
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace sb::actors {

struct ConnectionReport {
  std::string state;          // the connection actor's state: "ready", "resuming", "backing_off", "stopped_fatal", ...
  std::string detail;         // for people: the last reason, counters; never a secret
  bool fatal = false;         // stopped for good until an operator acts (a bad token, disabled intents, ...)
  std::int64_t since_ms = 0;  // unix ms of the last state change
};

class ConnectionBoard {
 public:
  void set(const std::string& bot_id, ConnectionReport report);
  std::optional<ConnectionReport> get(const std::string& bot_id) const;
  std::map<std::string, ConnectionReport> all() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, ConnectionReport> reports_;
};

}  // namespace sb::actors
