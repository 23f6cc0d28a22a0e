#pragma once
// Pure request routing: no I/O, no Boost. The server calls one Handler per request; a
// Router is a Handler that picks a more specific Handler by method and path.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "runtime/http/message.hpp"

namespace sb::http {

// Delivers the response. May be called from any thread, at most once; the server ignores
// later calls and answers 500 itself if every copy is destroyed without a call.
using Reply = std::function<void(Response)>;
// The Request reference is valid only during the call: copy what a later Reply needs.
using Handler = std::function<void(const Request&, Reply)>;

class Router {
 public:
  // Exact path match ("/healthz"). Method is compared case-sensitively (RFC 9110).
  void add(std::string method, std::string path, Handler handler);
  // Matches the prefix itself and anything below it at a segment boundary:
  // "/api/v1" matches "/api/v1" and "/api/v1/x" but not "/api/v1x". A prefix ending in
  // '/' matches any path starting with it.
  void add_prefix(std::string method, std::string prefix, Handler handler);

  // Candidates are tried from most to least specific (exact, then longer prefixes); the
  // first one registered for the method wins. HEAD falls back to GET (the server drops
  // the body). A path that matches but not for this method gets 405 with an Allow header
  // listing the methods of every matching route; no match at all gets 404.
  void dispatch(const Request& request, Reply reply) const;

  // A Handler forwarding to this router; the router must outlive it.
  Handler handler() const;

 private:
  using Methods = std::map<std::string, Handler>;
  struct Prefix {
    std::string prefix;
    Methods methods;
  };

  static bool prefix_matches(const std::string& prefix, const std::string& path);

  std::map<std::string, Methods> exact_;
  std::vector<Prefix> prefixes_;  // sorted longest first
};

}  // namespace sb::http
