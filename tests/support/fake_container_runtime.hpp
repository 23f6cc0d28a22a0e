#pragma once
// An in-memory ContainerRuntime for the scanner and auditor tests: containers are
// entries in a map, kill/remove take effect at once, every call is counted, and list()
// can be slowed down to catch overlapping scans. Thread-safe.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "runtime/container/runtime.hpp"

namespace sb::container::scan::test {

class FakeRuntime : public container::ContainerRuntime {
 public:
  struct Entry {
    container::ContainerInfo info;
    Result<container::SecurityProfile> profile = container::SecurityProfile{};
  };

  explicit FakeRuntime(std::string backend = "oci") : backend_(std::move(backend)) {}

  void add(const std::string& id, container::Labels labels, container::SecurityProfile profile,
           container::ContainerState state = container::ContainerState::running) {
    std::lock_guard lock(mu_);
    container::ContainerInfo info;
    info.id = id;
    info.state = state;
    info.labels = std::move(labels);
    entries_[id] = Entry{info, std::move(profile)};
  }
  void set_profile_error(const std::string& id, Error e) {
    std::lock_guard lock(mu_);
    entries_.at(id).profile = std::move(e);
  }
  void set_list_error(std::optional<Error> e) {
    std::lock_guard lock(mu_);
    list_error_ = std::move(e);
  }
  void set_remove_error(std::optional<Error> e) {
    std::lock_guard lock(mu_);
    remove_error_ = std::move(e);
  }
  // Makes inspect() report the container as exited (a run that ended during the scan).
  void exit_on_inspect(const std::string& id) {
    std::lock_guard lock(mu_);
    exit_on_inspect_ = id;
  }
  void set_list_delay(std::chrono::milliseconds d) { list_delay_ms_ = d.count(); }

  bool exists(const std::string& id) const {
    std::lock_guard lock(mu_);
    return entries_.contains(id);
  }
  int kills() const { return kills_; }
  int lists() const { return lists_; }
  int max_concurrent_lists() const { return max_concurrent_; }

  std::string backend() const override { return backend_; }
  Result<container::RuntimeVersion> version() override { return container::RuntimeVersion{backend_, "fake", ""}; }
  Result<std::string> create(const container::ContainerSpec&) override {
    return make_error("fake.unsupported", "create");
  }
  Status start(const std::string&) override { return make_error("fake.unsupported", "start"); }
  Result<container::ExitStatus> wait(const std::string&, std::chrono::milliseconds) override {
    return make_error("fake.unsupported", "wait");
  }
  Status kill(const std::string& id, int) override {
    ++kills_;
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return make_error("container.not_found", id);
    it->second.info.state = container::ContainerState::exited;
    return {};
  }
  Status remove(const std::string& id, bool) override {
    std::lock_guard lock(mu_);
    if (remove_error_) return *remove_error_;
    entries_.erase(id);
    return {};
  }
  Result<std::vector<container::ContainerInfo>> list(const container::Labels& selector) override {
    int now = ++concurrent_;
    int seen = max_concurrent_.load();
    while (now > seen && !max_concurrent_.compare_exchange_weak(seen, now)) {
    }
    ++lists_;
    if (list_delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(list_delay_ms_.load()));
    --concurrent_;
    std::lock_guard lock(mu_);
    if (list_error_) return *list_error_;
    std::vector<container::ContainerInfo> out;
    for (const auto& [id, e] : entries_) {
      bool match = true;
      for (const auto& [k, v] : selector) {
        auto it = e.info.labels.find(k);
        match = match && it != e.info.labels.end() && it->second == v;
      }
      if (match) out.push_back(e.info);
    }
    return out;
  }
  Result<container::ContainerInfo> inspect(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return make_error("container.not_found", id);
    auto info = it->second.info;
    if (id == exit_on_inspect_) info.state = container::ContainerState::exited;
    return info;
  }
  Result<container::SecurityProfile> security_profile(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return make_error("container.not_found", id);
    return it->second.profile;
  }

 private:
  std::string backend_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  std::optional<Error> list_error_, remove_error_;
  std::string exit_on_inspect_;
  std::atomic<int64_t> list_delay_ms_{0};
  std::atomic<int> kills_{0}, lists_{0}, concurrent_{0}, max_concurrent_{0};
};

// What our backends make: no capabilities, nothing shared but the user namespace.
inline container::SecurityProfile clean_profile() {
  container::SecurityProfile p;
  p.no_new_privileges = true;
  p.host_namespaces = {"user"};
  return p;
}

}  // namespace sb::container::scan::test
