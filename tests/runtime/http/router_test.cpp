#include "runtime/http/router.hpp"

#include <optional>

#include <gtest/gtest.h>

namespace sb::http {
namespace {

Request req(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.target = r.path;
  return r;
}

// The router replies synchronously here, so the response can be captured directly.
Response route(const Router& router, const Request& request) {
  std::optional<Response> out;
  router.dispatch(request, [&](Response r) { out = std::move(r); });
  EXPECT_TRUE(out.has_value());
  return out.value_or(Response{});
}

Handler answer(std::string body) {
  return [body](const Request&, Reply reply) { reply(Response::text(200, body)); };
}

TEST(HttpRouter, ExactMatch) {
  Router r;
  r.add("GET", "/healthz", answer("health"));
  r.add("POST", "/items", answer("create"));
  EXPECT_EQ(route(r, req("GET", "/healthz")).body, "health");
  EXPECT_EQ(route(r, req("POST", "/items")).body, "create");
}

TEST(HttpRouter, UnknownPathIs404) {
  Router r;
  r.add("GET", "/a", answer("a"));
  const Response res = route(r, req("GET", "/b"));
  EXPECT_EQ(res.status, 404);
  EXPECT_NE(res.body.find(R"("code":"not_found")"), std::string::npos);
}

TEST(HttpRouter, WrongMethodIs405WithAllow) {
  Router r;
  r.add("GET", "/items", answer("list"));
  r.add("POST", "/items", answer("create"));
  const Response res = route(r, req("DELETE", "/items"));
  EXPECT_EQ(res.status, 405);
  EXPECT_NE(res.body.find(R"("code":"method_not_allowed")"), std::string::npos);
  EXPECT_EQ(res.header("Allow"), "GET, HEAD, POST");
}

TEST(HttpRouter, ExactBeatsPrefixAndLongestPrefixWins) {
  Router r;
  r.add_prefix("GET", "/api", answer("api"));
  r.add_prefix("GET", "/api/v1/items", answer("items"));
  r.add_prefix("GET", "/api/v1", answer("v1"));
  r.add("GET", "/api/v1/items/special", answer("special"));
  EXPECT_EQ(route(r, req("GET", "/api/v1/items/42")).body, "items");
  EXPECT_EQ(route(r, req("GET", "/api/v1/items")).body, "items");
  EXPECT_EQ(route(r, req("GET", "/api/v1/other")).body, "v1");
  EXPECT_EQ(route(r, req("GET", "/api/v2")).body, "api");
  EXPECT_EQ(route(r, req("GET", "/api/v1/items/special")).body, "special");
}

TEST(HttpRouter, PrefixMatchesOnSegmentBoundary) {
  Router r;
  r.add_prefix("GET", "/api", answer("api"));
  r.add_prefix("GET", "/files/", answer("files"));
  EXPECT_EQ(route(r, req("GET", "/apix")).status, 404);
  EXPECT_EQ(route(r, req("GET", "/api")).body, "api");
  EXPECT_EQ(route(r, req("GET", "/files/x")).body, "files");
  EXPECT_EQ(route(r, req("GET", "/files")).status, 404);
}

TEST(HttpRouter, LessSpecificRouteServesOtherMethods) {
  Router r;
  r.add("POST", "/api/items", answer("create"));
  r.add_prefix("GET", "/api", answer("generic"));
  EXPECT_EQ(route(r, req("GET", "/api/items")).body, "generic");
  const Response res = route(r, req("PUT", "/api/items"));
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.header("Allow"), "GET, HEAD, POST");
}

TEST(HttpRouter, HeadFallsBackToGet) {
  Router r;
  r.add("GET", "/x", answer("x"));
  EXPECT_EQ(route(r, req("HEAD", "/x")).body, "x");  // the server strips the body
}

TEST(HttpRouter, ReplacingARoute) {
  Router r;
  r.add("GET", "/x", answer("old"));
  r.add("GET", "/x", answer("new"));
  EXPECT_EQ(route(r, req("GET", "/x")).body, "new");
}

TEST(HttpRouter, HandlerAdapter) {
  Router r;
  r.add("GET", "/x", answer("x"));
  Handler h = r.handler();
  std::optional<Response> out;
  h(req("GET", "/x"), [&](Response res) { out = std::move(res); });
  ASSERT_TRUE(out);
  EXPECT_EQ(out->body, "x");
}

}  // namespace
}  // namespace sb::http
