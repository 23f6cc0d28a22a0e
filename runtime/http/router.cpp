#include "runtime/http/router.hpp"

#include <algorithm>
#include <set>
#include <utility>

namespace sb::http {

void Router::add(std::string method, std::string path, Handler handler) {
  exact_[std::move(path)][std::move(method)] = std::move(handler);
}

void Router::add_prefix(std::string method, std::string prefix, Handler handler) {
  auto it = std::find_if(prefixes_.begin(), prefixes_.end(), [&](const Prefix& p) { return p.prefix == prefix; });
  if (it == prefixes_.end()) {
    // Keep longest-first order so dispatch can stop at the first hit.
    auto pos = std::find_if(prefixes_.begin(), prefixes_.end(),
                            [&](const Prefix& p) { return p.prefix.size() < prefix.size(); });
    it = prefixes_.insert(pos, Prefix{std::move(prefix), {}});
  }
  it->methods[std::move(method)] = std::move(handler);
}

bool Router::prefix_matches(const std::string& prefix, const std::string& path) {
  if (path.compare(0, prefix.size(), prefix) != 0) return false;
  if (path.size() == prefix.size() || prefix.empty() || prefix.back() == '/') return true;
  return path[prefix.size()] == '/';
}

void Router::dispatch(const Request& request, Reply reply) const {
  std::vector<const Methods*> candidates;
  if (auto it = exact_.find(request.path); it != exact_.end()) candidates.push_back(&it->second);
  for (const auto& p : prefixes_) {
    if (prefix_matches(p.prefix, request.path)) candidates.push_back(&p.methods);
  }
  if (candidates.empty()) {
    reply(Response::error(404, "not_found", "no route for " + request.path));
    return;
  }
  for (const Methods* methods : candidates) {
    if (auto it = methods->find(request.method); it != methods->end()) {
      it->second(request, std::move(reply));
      return;
    }
  }
  if (request.method == "HEAD") {
    for (const Methods* methods : candidates) {
      if (auto it = methods->find("GET"); it != methods->end()) {
        it->second(request, std::move(reply));
        return;
      }
    }
  }
  std::set<std::string> allowed;
  for (const Methods* methods : candidates) {
    for (const auto& entry : *methods) allowed.insert(entry.first);
  }
  if (allowed.count("GET")) allowed.insert("HEAD");
  std::string allow;
  for (const auto& m : allowed) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  Response r = Response::error(405, "method_not_allowed", request.method + " not allowed on " + request.path);
  r.headers.emplace_back("Allow", std::move(allow));
  reply(std::move(r));
}

Handler Router::handler() const {
  return [this](const Request& request, Reply reply) { dispatch(request, std::move(reply)); };
}

}  // namespace sb::http
