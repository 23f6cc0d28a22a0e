#include "runtime/security/allowlist/allowlist_store.hpp"

#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/core/fs.hpp"
#include "runtime/core/log.hpp"
#include "runtime/security/allowlist/pinned_path.hpp"

namespace sb::security::allowlist {
namespace fs = std::filesystem;
namespace {

std::string lexical_absolute(const std::string& p) {
  std::string s = fs::path(p).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// A root is kept only if it is an existing directory whose written path is already
// canonical: no symlink anywhere in it.
void resolve_roots(const std::vector<AllowedRoot>& written, AllowlistRules& rules) {
  for (const auto& root : written) {
    const std::string path = lexical_absolute(expand_home(root.path));
    std::unique_ptr<char, decltype(&::free)> real(::realpath(path.c_str(), nullptr), &::free);
    std::string problem;
    struct stat st {};
    if (!real)
      problem = std::string("cannot be resolved: ") + std::strerror(errno);
    else if (path != real.get())
      problem = std::string("is or passes through a symlink (resolves to ") + real.get() + "); write the real path";
    else if (::stat(real.get(), &st) != 0 || !S_ISDIR(st.st_mode))
      problem = "is not a directory";
    if (!problem.empty()) {
      rules.warnings.push_back("allowed root " + root.path + " " + problem + ": ignored");
      continue;
    }
    rules.roots.push_back(AllowedRoot{real.get(), root.allow_read_write, root.description});
  }
}

Result<std::string> read_text(const std::string& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return make_error("allowlist.missing", "the allowlist file " + file + " does not exist");
  auto text = read_file(file);
  if (!text) return make_error("allowlist.unreadable", "cannot read the allowlist file " + text.error().message);
  return text;
}

std::string detail_json(const AllowlistRules& rules, uint64_t generation) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  if (!rules.unavailable.empty()) {
    w.Key("error");
    w.String(rules.unavailable.c_str());
  } else {
    w.Key("roots");
    w.Uint64(rules.roots.size());
    w.Key("blocked_patterns");
    w.Uint64(rules.blocked_patterns.size());
    w.Key("non_main_read_only");
    w.Bool(rules.non_main_read_only);
    w.Key("dropped_roots");
    w.Uint64(rules.warnings.size());
  }
  w.Key("generation");
  w.Uint64(generation);
  w.EndObject();
  return buf.GetString();
}

}  // namespace

AllowlistRules load_allowlist(const std::string& file, std::vector<ProtectedPath> protected_paths) {
  AllowlistRules rules;
  rules.source_file = file;
  rules.protected_paths = std::move(protected_paths);
  rules.blocked_patterns = default_blocked_patterns();  // also when the file is bad
  auto text = read_text(file);
  if (!text) {
    rules.unavailable = text.error().message;
    return rules;
  }
  auto parsed = parse_allowlist(*text);
  if (!parsed) {
    rules.unavailable = "the allowlist file " + file + " is invalid: " + parsed.error().message;
    return rules;
  }
  rules.blocked_patterns = std::move(parsed->blocked_patterns);
  rules.non_main_read_only = parsed->non_main_read_only;
  resolve_roots(parsed->roots, rules);
  for (const auto& root : rules.roots)
    if (path_within(file, root.path))
      rules.warnings.push_back("the allowlist file lies inside allowed root " + root.path +
                               "; it stays unmountable, but keep it outside every mountable tree");
  return rules;
}

AllowlistStore::AllowlistStore(AllowlistStoreOptions options) : options_(std::move(options)) {
  options_.file = expand_home(options_.file);
  if (options_.watch) {
    stop_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    inotify_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!stop_fd_.valid() || !inotify_.valid())
      log::error("allowlist.watch_failed", {{"file", options_.file}, {"error", std::strerror(errno)}});
    else
      arm_watch();
  }
  reload();
  if (stop_fd_.valid() && inotify_.valid()) watcher_ = std::thread([this] { watch_loop(); });
}

AllowlistStore::~AllowlistStore() {
  if (watcher_.joinable()) {
    uint64_t one = 1;
    if (::write(stop_fd_.get(), &one, sizeof one) < 0)
      log::error("allowlist.stop_failed", {{"error", std::strerror(errno)}});
    watcher_.join();
  }
}

std::shared_ptr<const AllowlistRules> AllowlistStore::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void AllowlistStore::reload() {
  std::lock_guard serial(reload_mutex_);
  auto rules = std::make_shared<AllowlistRules>(load_allowlist(options_.file, options_.protected_paths));
  const uint64_t generation = generation_.load() + 1;
  if (!rules->unavailable.empty()) {
    log::warn("allowlist.unavailable",
              {{"file", options_.file}, {"error", rules->unavailable}, {"effect", "every extra mount is denied"}});
  } else {
    log::info("allowlist.loaded", {{"file", options_.file},
                                   {"roots", rules->roots.size()},
                                   {"blocked_patterns", rules->blocked_patterns.size()}});
  }
  for (const auto& w : rules->warnings) log::warn("allowlist.warning", {{"file", options_.file}, {"warning", w}});
  if (options_.audit)
    options_.audit(AuditRecord{"allowlist", rules->unavailable.empty() ? "allowlist.reloaded" : "allowlist.invalid",
                               options_.file, detail_json(*rules, generation)});
  {
    std::lock_guard lock(mutex_);
    current_ = std::move(rules);
  }
  generation_.store(generation);
}

bool AllowlistStore::arm_watch() {
  constexpr uint32_t kDirEvents =
      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
  const fs::path parent = fs::path(options_.file).parent_path();
  const std::string dir = parent.empty() ? "." : parent.string();
  watch_ = ::inotify_add_watch(inotify_.get(), dir.c_str(), kDirEvents);
  if (watch_ < 0 && !watch_warned_) {
    // Retried every second: the directory may be created later.
    log::warn("allowlist.watch_pending", {{"dir", dir}, {"error", std::strerror(errno)}});
    watch_warned_ = true;
  }
  if (watch_ >= 0) watch_warned_ = false;
  return watch_ >= 0;
}

void AllowlistStore::watch_loop() {
  const std::string name = fs::path(options_.file).filename().string();
  alignas(inotify_event) char buf[8192];
  while (true) {
    pollfd fds[2] = {{stop_fd_.get(), POLLIN, 0}, {inotify_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, watch_ >= 0 ? -1 : 1000);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[0].revents & POLLIN)) return;
    if (n == 0) {  // not armed yet: the directory may exist now
      if (arm_watch()) reload();
      continue;
    }
    bool changed = false, rearm = false;
    while (true) {
      ssize_t len = ::read(inotify_.get(), buf, sizeof buf);
      if (len <= 0) break;
      for (char* p = buf; p < buf + len;) {
        auto* ev = reinterpret_cast<inotify_event*>(p);
        p += sizeof(inotify_event) + ev->len;
        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
          rearm = true;
        else if (ev->len > 0 && name == ev->name)
          changed = true;
        if (ev->mask & IN_Q_OVERFLOW) changed = true;
      }
    }
    if (rearm) {
      if (watch_ >= 0) (void)::inotify_rm_watch(inotify_.get(), watch_);
      arm_watch();
      changed = true;
    }
    if (changed) reload();
  }
}

}  // namespace sb::security::allowlist
