#include "runtime/ipc/ipc_watcher.hpp"

#include <errno.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "runtime/core/log.hpp"

namespace sb::ipc {

Result<IpcWatcher> IpcWatcher::open(std::string root, IpcWatcherOptions options) {
  UniqueFd ino(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!ino.valid()) return make_error("ipc.watch_failed", std::string("inotify_init1: ") + std::strerror(errno));
  // IN_MOVED_TO: the tmp + rename protocol; IN_CLOSE_WRITE: a writer that skipped the
  // tmp step still gets noticed once it has closed the file.
  const uint32_t mask = IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR;
  int wd[2];
  Box boxes[2] = {Box::messages, Box::tasks};
  for (int i = 0; i < 2; ++i) {
    std::string dir = root + "/" + std::string(box_dir(boxes[i]));
    wd[i] = ::inotify_add_watch(ino.get(), dir.c_str(), mask);
    if (wd[i] < 0) return make_error("ipc.watch_failed", "watch " + dir + ": " + std::strerror(errno));
  }
  return IpcWatcher(std::move(root), std::move(options), std::move(ino), wd[0], wd[1]);
}

void IpcWatcher::read_events(std::vector<std::pair<std::string, Box>>& names) {
  alignas(inotify_event) char buf[65536];
  while (true) {
    ssize_t n = ::read(ino_.get(), buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: queue empty
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        ++overflows_;
        rescan_ = true;
        sb::log::warn("ipc.inotify_overflow", {{"root", root_}});
        continue;
      }
      if (ev->len == 0 || !is_payload_name(ev->name)) continue;  // *.tmp never gets here
      if (ev->wd == wd_messages_)
        names.emplace_back(ev->name, Box::messages);
      else if (ev->wd == wd_tasks_)
        names.emplace_back(ev->name, Box::tasks);
    }
  }
}

std::vector<Delivery> IpcWatcher::drain() {
  std::vector<std::pair<std::string, Box>> names;
  read_events(names);
  if (rescan_) {
    // After the events are consumed, so a file whose event is already gone is listed.
    rescan_ = false;
    for (Box box : {Box::messages, Box::tasks}) {
      auto listed = list_payloads(root_ + "/" + std::string(box_dir(box)));
      if (!listed) {
        sb::log::error("ipc.scan_failed", {{"error", listed.error().message}});
        continue;
      }
      for (auto& n : listed.value()) names.emplace_back(std::move(n), box);
    }
  }
  // Name order across both directories = the agent's write order; duplicates (an
  // event plus a rescan, or MOVED_TO plus CLOSE_WRITE) collapse here or read as gone.
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<Delivery> out;
  for (const auto& [name, box] : names) handle(box, name, out);
  return out;
}

void IpcWatcher::handle(Box box, const std::string& name, std::vector<Delivery>& out) {
  std::string path = root_ + "/" + std::string(box_dir(box)) + "/" + name;
  auto bytes = read_bounded(path, options_.max_bytes);
  if (!bytes) {
    if (bytes.error().code != "ipc.gone") reject(box, name, bytes.error());
    return;
  }
  auto payload = decode(box, bytes.value(), options_.max_bytes);
  if (!payload) return reject(box, name, payload.error());
  if (options_.authorize) {
    auto decision = options_.authorize(payload.value());
    if (!decision.allowed) return deny(box, name, payload.value(), decision);
  }
  // Removed before it is handed out: a file is delivered at most once by this watcher;
  // the caller owns the payload from here on (and persists it if it must survive).
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    sb::log::error("ipc.unlink_failed", {{"file", path}, {"errno", errno}});
    return;  // not delivered: it would come back on the next rescan
  }
  count_accepted(box);
  out.push_back(Delivery{box, name, std::move(payload.value())});
}

void IpcWatcher::reject(Box box, const std::string& name, const Error& e) {
  std::string_view reason = reason_label(e);
  sb::log::warn("ipc.rejected",
                {{"root", root_}, {"dir", box_dir(box)}, {"file", name}, {"reason", reason}, {"error", e.message}});
  auto st = reject_file(root_, box, name, e.code + ": " + e.message);
  if (!st) sb::log::error("ipc.reject_failed", {{"file", name}, {"error", st.error().message}});
  if (!options_.metrics) return;
  std::string key = "rejected:" + std::string(reason);
  auto& c = counters_[key];
  if (!c)
    c = &options_.metrics->counter("squadbox_ipc_rejected_total", "IPC files moved to errors/, by reason",
                                   {{"reason", std::string(reason)}});
  c->inc();
}

void IpcWatcher::deny(Box box, const std::string& name, const Payload& payload, const IpcDecision& decision) {
  std::string rule(decision.rule);
  std::string_view type = type_name(payload);
  sb::log::warn("ipc.denied", {{"root", root_},
                               {"group", options_.group},
                               {"dir", box_dir(box)},
                               {"file", name},
                               {"type", type},
                               {"rule", rule},
                               {"reason", decision.reason}});
  auto st = reject_file(root_, box, name, rule + ": " + decision.reason);
  if (!st) sb::log::error("ipc.reject_failed", {{"file", name}, {"error", st.error().message}});
  if (options_.audit)
    options_.audit(
        AuditRecord{"ipc:" + options_.group, "ipc.denied", name, denial_detail(options_.group, decision, type)});
  if (!options_.metrics) return;
  auto& c = counters_["denied:" + rule];
  if (!c)
    c = &options_.metrics->counter("squadbox_ipc_denied_total",
                                   "Valid IPC payloads refused by the IPC permission rules, by rule", {{"rule", rule}});
  c->inc();
}

void IpcWatcher::count_accepted(Box box) {
  if (!options_.metrics) return;
  std::string kind(box_dir(box));
  auto& c = counters_["files:" + kind];
  if (!c)
    c = &options_.metrics->counter("squadbox_ipc_files_total", "IPC files accepted from containers, by directory",
                                   {{"kind", kind}});
  c->inc();
}

std::vector<Delivery> IpcWatcher::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto out = drain();
    if (!out.empty()) return out;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{ino_.get(), POLLIN, 0};
    // +1: poll's ms granularity must not make us return a hair before the deadline.
    int rc = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (rc < 0 && errno != EINTR) return out;
  }
}

}  // namespace sb::ipc
