#pragma once
// The global container slot pool (issue 6; docs/namespace-queue.md "Turns and
// concurrency"): at most `limit` namespaces run a container at once (default 5), a
// namespace holds at most one slot (one container per namespace), waiting namespaces
// get free slots in FIFO order, and a scheduled task never waits behind an idle
// container: the oldest idle one is pre-empted and its slot handed to the task.
//
// Pure and deterministic: no clock, no threads. Every call returns a PoolDecision that
// tells the shell (the NamespaceManager actor) what to do now: start the containers of
// `start`, stop the idle containers of `preempt` (and call release() for each once it
// has exited).
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sb::namespaces {

inline constexpr std::size_t kDefaultContainerLimit = 5;

enum class RequestKind { message, scheduled };

enum class SlotState {
  none,          // holds no slot, not waiting
  waiting,       // in the FIFO (or holding a pre-emption hand-over)
  running_busy,  // holds a slot, its agent is working
  running_idle,  // holds a slot, its container waits for input
  stopping,      // holds a slot, pre-empted: its container is being stopped
};

// What happened to the call itself.
enum class PoolOutcome {
  granted,            // request: the namespace got a slot now (it is in `start`)
  queued,             // request: the namespace waits for a slot
  running,            // request(message) for a running namespace: deliver to its container
  follow_up,          // request for a running namespace that needs a new container
                      // (scheduled, or stopping): it waits again once released
  already_waiting,    // request for a namespace that already waits (position kept)
  released,           // release: the slot is free (or handed on)
  cancelled,          // release of a waiting namespace: it left the queue
  marked,             // mark_idle / mark_busy applied
  not_holding,        // release / mark_* for a namespace that holds no slot
  stopping,           // mark_busy for a namespace being pre-empted: refused
  invalid_namespace,  // empty namespace name
};

struct PoolDecision {
  PoolOutcome outcome = PoolOutcome::invalid_namespace;
  std::vector<std::string> start;    // granted a slot now: start their containers
  std::vector<std::string> preempt;  // idle: stop their containers, then release() each
};

std::string_view to_string(SlotState s);
std::string_view to_string(PoolOutcome o);
std::string_view to_string(RequestKind k);

class SlotPool {
 public:
  // limit 0 is treated as 1: a pool that can never run anything is a misconfiguration
  // that would hang every namespace silently.
  explicit SlotPool(std::size_t limit = kDefaultContainerLimit);

  PoolDecision request(const std::string& ns, RequestKind kind = RequestKind::message);
  // The namespace's container exited (or a waiting namespace gave up): frees or hands on
  // its slot; a follow-up request re-queues it at the tail.
  PoolDecision release(const std::string& ns);
  PoolDecision mark_idle(const std::string& ns);
  PoolDecision mark_busy(const std::string& ns);

  SlotState state(const std::string& ns) const;
  std::size_t limit() const { return limit_; }
  std::size_t running() const { return holders_; }  // slots held (busy + idle + stopping)
  std::size_t waiting() const { return fifo_.size() + handovers_; }
  std::vector<std::string> waiting_order() const;  // the FIFO, head first

 private:
  struct Entry {
    SlotState state = SlotState::none;
    RequestKind kind = RequestKind::message;   // of the wait or of the follow-up
    bool follow_up = false;                    // holds a slot and wants another turn after it
    uint64_t idle_since = 0;                   // mark_idle order; oldest idle is pre-empted first
    std::list<std::string>::iterator in_fifo;  // valid while state == waiting && !has_handover
    bool in_queue = false;
    std::string handover_to;    // stopping: the namespace that gets this slot on release
    std::string handover_from;  // waiting for the slot of this pre-empted namespace
  };

  Entry& entry(const std::string& ns) { return entries_[ns]; }
  void grant(const std::string& ns, PoolDecision& d);
  void enqueue(const std::string& ns, Entry& e, RequestKind kind);
  void dequeue(Entry& e);
  void fill_free_slots(PoolDecision& d);
  // A scheduled request with no slot: pre-empt the oldest idle namespace for it, if any.
  bool try_preempt_for(const std::string& ns, Entry& e, PoolDecision& d);
  // After a namespace became idle: a waiting scheduled request (FIFO order) takes it.
  void preempt_for_waiting_scheduled(PoolDecision& d);
  void forget_if_unused(const std::string& ns);

  std::size_t limit_;
  std::size_t holders_ = 0;
  std::size_t handovers_ = 0;  // namespaces waiting on a pre-empted slot (not in fifo_)
  uint64_t idle_clock_ = 0;
  std::list<std::string> fifo_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace sb::namespaces
