#pragma once
// IpcWatcher: the host's event-driven reader of one run's messages/ and tasks/.
// inotify (IN_MOVED_TO | IN_CLOSE_WRITE) says which `*.json` names completed; drain()
// reads, validates and removes each of them exactly once and returns them in name
// (= write) order. Files present before the watcher started and files whose events
// were lost to an inotify queue overflow (IN_Q_OVERFLOW) are found by a rescan.
// Rejected files go to errors/ with a `.reason`; so are valid payloads the optional
// authorizer denies (IPC permissions), which are also counted and audited. Not
// thread-safe: one owner (an actor polling fd(), or a thread blocking in wait_for()).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "runtime/core/audit_sink.hpp"
#include "runtime/core/metrics.hpp"
#include "runtime/core/result.hpp"
#include "runtime/ipc/ipc_fs.hpp"
#include "runtime/ipc/ipc_permissions.hpp"
#include "runtime/ipc/protocol.hpp"

namespace sb::ipc {

struct Delivery {
  Box box;           // messages or tasks: the sender's channel, never a payload field
  std::string name;  // file name it arrived as
  Payload payload;
};

struct IpcWatcherOptions {
  std::size_t max_bytes = kDefaultMaxBytes;
  metrics::Registry* metrics = nullptr;  // may be null
  // IPC permissions: unset = every valid payload is delivered. Called on the owner's
  // thread; a denied file goes to errors/ with `<rule>: <reason>`.
  std::function<IpcDecision(const Payload&)> authorize;
  std::string group;  // the directory's group: audit actor `ipc:<group>`, detail `namespace`
  AuditSink audit;    // may be unset; receives `ipc.denied`
};

class IpcWatcher {
 public:
  static Result<IpcWatcher> open(std::string root, IpcWatcherOptions options = {});

  // Readable when drain() may have work. Non-blocking; owned by the watcher.
  int fd() const { return ino_.get(); }

  // Everything that completed since the last call, validated, in name order.
  std::vector<Delivery> drain();

  // Blocks until drain() yields something or the timeout passes (then returns empty).
  std::vector<Delivery> wait_for(std::chrono::milliseconds timeout);

  uint64_t overflows() const { return overflows_; }

 private:
  IpcWatcher(std::string root, IpcWatcherOptions options, UniqueFd ino, int wd_messages, int wd_tasks)
      : root_(std::move(root)),
        options_(std::move(options)),
        ino_(std::move(ino)),
        wd_messages_(wd_messages),
        wd_tasks_(wd_tasks) {}

  void read_events(std::vector<std::pair<std::string, Box>>& names);
  void handle(Box box, const std::string& name, std::vector<Delivery>& out);
  void reject(Box box, const std::string& name, const Error& e);
  void deny(Box box, const std::string& name, const Payload& payload, const IpcDecision& decision);
  void count_accepted(Box box);

  std::string root_;
  IpcWatcherOptions options_;
  UniqueFd ino_;
  int wd_messages_;
  int wd_tasks_;
  bool rescan_ = true;  // first drain() picks up files written before open()
  uint64_t overflows_ = 0;
  std::map<std::string, metrics::Counter*> counters_;  // resolved once per label
};

}  // namespace sb::ipc
