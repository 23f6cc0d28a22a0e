#include "runtime/namespaces/slot_pool.hpp"

#include <algorithm>

namespace sb::namespaces {

std::string_view to_string(SlotState s) {
  switch (s) {
    case SlotState::none: return "none";
    case SlotState::waiting: return "waiting";
    case SlotState::running_busy: return "running-busy";
    case SlotState::running_idle: return "running-idle";
    case SlotState::stopping: return "stopping";
  }
  return "unknown";
}

std::string_view to_string(PoolOutcome o) {
  switch (o) {
    case PoolOutcome::granted: return "granted";
    case PoolOutcome::queued: return "queued";
    case PoolOutcome::running: return "running";
    case PoolOutcome::follow_up: return "follow_up";
    case PoolOutcome::already_waiting: return "already_waiting";
    case PoolOutcome::released: return "released";
    case PoolOutcome::cancelled: return "cancelled";
    case PoolOutcome::marked: return "marked";
    case PoolOutcome::not_holding: return "not_holding";
    case PoolOutcome::stopping: return "stopping";
    case PoolOutcome::invalid_namespace: return "invalid_namespace";
  }
  return "unknown";
}

std::string_view to_string(RequestKind k) {
  return k == RequestKind::scheduled ? "scheduled" : "message";
}

SlotPool::SlotPool(std::size_t limit) : limit_(std::max<std::size_t>(limit, 1)) {}

void SlotPool::grant(const std::string& ns, PoolDecision& d) {
  Entry& e = entry(ns);
  e.state = SlotState::running_busy;
  e.kind = RequestKind::message;
  e.follow_up = false;
  e.idle_since = 0;
  ++holders_;
  d.start.push_back(ns);
}

void SlotPool::enqueue(const std::string& ns, Entry& e, RequestKind kind) {
  e.state = SlotState::waiting;
  e.kind = kind;
  e.in_fifo = fifo_.insert(fifo_.end(), ns);
  e.in_queue = true;
}

void SlotPool::dequeue(Entry& e) {
  if (!e.in_queue) return;
  fifo_.erase(e.in_fifo);
  e.in_queue = false;
}

void SlotPool::fill_free_slots(PoolDecision& d) {
  while (holders_ < limit_ && !fifo_.empty()) {
    std::string ns = std::move(fifo_.front());
    fifo_.pop_front();
    entry(ns).in_queue = false;
    grant(ns, d);
  }
}

bool SlotPool::try_preempt_for(const std::string& ns, Entry& e, PoolDecision& d) {
  const std::string* victim = nullptr;
  uint64_t oldest = 0;
  for (auto& [name, other] : entries_) {
    if (other.state != SlotState::running_idle || name == ns) continue;
    if (victim == nullptr || other.idle_since < oldest) {
      victim = &name;
      oldest = other.idle_since;
    }
  }
  if (victim == nullptr) return false;
  Entry& v = entries_.at(*victim);
  v.state = SlotState::stopping;
  v.handover_to = ns;
  dequeue(e);
  e.state = SlotState::waiting;
  e.kind = RequestKind::scheduled;
  e.handover_from = *victim;
  ++handovers_;
  d.preempt.push_back(*victim);
  return true;
}

void SlotPool::preempt_for_waiting_scheduled(PoolDecision& d) {
  for (auto it = fifo_.begin(); it != fifo_.end();) {
    const std::string ns = *it++;  // advance first: a pre-emption removes ns from the FIFO
    Entry& e = entry(ns);
    if (e.kind != RequestKind::scheduled) continue;
    if (!try_preempt_for(ns, e, d)) return;  // no idle namespace left
  }
}

void SlotPool::forget_if_unused(const std::string& ns) {
  auto it = entries_.find(ns);
  if (it == entries_.end()) return;
  const Entry& e = it->second;
  if (e.state == SlotState::none && !e.follow_up && e.handover_to.empty() && e.handover_from.empty()) {
    entries_.erase(it);
  }
}

PoolDecision SlotPool::request(const std::string& ns, RequestKind kind) {
  PoolDecision d;
  if (ns.empty()) return d;
  Entry& e = entry(ns);
  switch (e.state) {
    case SlotState::none:
      if (holders_ < limit_) {
        // A free slot implies an empty FIFO: every release fills free slots first.
        grant(ns, d);
        d.outcome = PoolOutcome::granted;
        return d;
      }
      d.outcome = PoolOutcome::queued;
      if (kind == RequestKind::scheduled && try_preempt_for(ns, e, d)) return d;
      enqueue(ns, e, kind);
      return d;
    case SlotState::waiting:
      d.outcome = PoolOutcome::already_waiting;
      // A scheduled request upgrades the wait; it keeps its FIFO position unless it can
      // take an idle namespace's slot right away.
      if (kind == RequestKind::scheduled && e.kind == RequestKind::message) {
        e.kind = RequestKind::scheduled;
        if (e.in_queue) try_preempt_for(ns, e, d);
      }
      return d;
    case SlotState::running_busy:
      if (kind == RequestKind::message) {
        d.outcome = PoolOutcome::running;
        return d;
      }
      // One container per namespace: the task runs after this one; mark_idle pre-empts it.
      e.follow_up = true;
      e.kind = RequestKind::scheduled;
      d.outcome = PoolOutcome::follow_up;
      return d;
    case SlotState::running_idle:
      if (kind == RequestKind::message) {
        e.state = SlotState::running_busy;
        e.idle_since = 0;
        d.outcome = PoolOutcome::running;
        return d;
      }
      // The task must not wait behind this namespace's own idle container: stop it and
      // give the slot straight back to the namespace.
      e.state = SlotState::stopping;
      e.handover_to = ns;
      d.preempt.push_back(ns);
      d.outcome = PoolOutcome::follow_up;
      return d;
    case SlotState::stopping:
      e.follow_up = true;
      if (kind == RequestKind::scheduled) e.kind = RequestKind::scheduled;
      d.outcome = PoolOutcome::follow_up;
      return d;
  }
  return d;
}

PoolDecision SlotPool::release(const std::string& ns) {
  PoolDecision d;
  if (ns.empty()) return d;
  auto it = entries_.find(ns);
  if (it == entries_.end() || it->second.state == SlotState::none) {
    d.outcome = PoolOutcome::not_holding;
    return d;
  }
  Entry& e = it->second;
  if (e.state == SlotState::waiting) {
    dequeue(e);
    if (!e.handover_from.empty()) {
      // The pre-empted namespace still stops; its slot goes to the FIFO instead.
      auto victim = entries_.find(e.handover_from);
      if (victim != entries_.end()) victim->second.handover_to.clear();
      e.handover_from.clear();
      --handovers_;
    }
    e.state = SlotState::none;
    e.follow_up = false;
    d.outcome = PoolOutcome::cancelled;
    forget_if_unused(ns);
    return d;
  }

  --holders_;
  d.outcome = PoolOutcome::released;
  const std::string target = std::move(e.handover_to);
  e.handover_to.clear();
  e.state = SlotState::none;
  e.idle_since = 0;
  const bool follow_up = e.follow_up;
  const RequestKind follow_kind = e.kind;
  e.follow_up = false;

  if (target == ns) {
    grant(ns, d);  // self pre-emption for a scheduled task: the slot comes straight back
    return d;
  }
  if (!target.empty()) {
    Entry& t = entry(target);
    t.handover_from.clear();
    --handovers_;
    grant(target, d);
  }
  if (follow_up) enqueue(ns, entry(ns), follow_kind);
  fill_free_slots(d);
  Entry& again = entry(ns);
  if (again.state == SlotState::waiting && again.kind == RequestKind::scheduled) try_preempt_for(ns, again, d);
  forget_if_unused(ns);
  return d;
}

PoolDecision SlotPool::mark_idle(const std::string& ns) {
  PoolDecision d;
  if (ns.empty()) return d;
  auto it = entries_.find(ns);
  if (it == entries_.end() || it->second.state == SlotState::none || it->second.state == SlotState::waiting) {
    d.outcome = PoolOutcome::not_holding;
    return d;
  }
  Entry& e = it->second;
  if (e.state == SlotState::stopping) {
    d.outcome = PoolOutcome::stopping;
    return d;
  }
  d.outcome = PoolOutcome::marked;
  if (e.state == SlotState::running_busy) {
    e.state = SlotState::running_idle;
    e.idle_since = ++idle_clock_;  // already idle: keeps its place among the oldest
  }
  if (e.follow_up && e.kind == RequestKind::scheduled) {
    // A task arrived while this namespace was busy: now that it is idle, stop it.
    e.follow_up = false;
    e.state = SlotState::stopping;
    e.handover_to = ns;
    d.preempt.push_back(ns);
    return d;
  }
  preempt_for_waiting_scheduled(d);
  return d;
}

PoolDecision SlotPool::mark_busy(const std::string& ns) {
  PoolDecision d;
  if (ns.empty()) return d;
  auto it = entries_.find(ns);
  if (it == entries_.end() || it->second.state == SlotState::none || it->second.state == SlotState::waiting) {
    d.outcome = PoolOutcome::not_holding;
    return d;
  }
  Entry& e = it->second;
  if (e.state == SlotState::stopping) {
    d.outcome = PoolOutcome::stopping;
    return d;
  }
  e.state = SlotState::running_busy;
  e.idle_since = 0;
  d.outcome = PoolOutcome::marked;
  return d;
}

SlotState SlotPool::state(const std::string& ns) const {
  auto it = entries_.find(ns);
  return it == entries_.end() ? SlotState::none : it->second.state;
}

std::vector<std::string> SlotPool::waiting_order() const {
  return {fifo_.begin(), fifo_.end()};
}

}  // namespace sb::namespaces
