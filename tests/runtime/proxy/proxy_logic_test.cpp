// The pure parts of the credential proxy: tokens, routes, hop-by-hop headers, what
// crosses the proxy in each direction, admission order, the container environment
// and the audit detail.
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/proxy/admission.hpp"
#include "runtime/proxy/forward_headers.hpp"
#include "runtime/proxy/hop_by_hop.hpp"
#include "runtime/proxy/lease_env.hpp"
#include "runtime/proxy/proxy_telemetry.hpp"
#include "runtime/proxy/route_table.hpp"
#include "runtime/proxy/token_registry.hpp"

namespace {

using namespace sb::proxy;
using sb::http::Headers;

sb::config::ProxyRoute route_cfg(std::string upstream, std::string header = "x-api-key", std::string scheme = "",
                                 std::vector<std::string> namespaces = {}) {
  sb::config::ProxyRoute r;
  r.upstream = std::move(upstream);
  r.header = std::move(header);
  r.scheme = std::move(scheme);
  r.secret = "key";
  r.namespaces = std::move(namespaces);
  return r;
}

RouteTable route_table() {
  auto t =
      RouteTable::from_config({{"anthropic", route_cfg("https://api.anthropic.com")},
                               {"based", route_cfg("http://127.0.0.1:8080/api/v2/")},
                               {"private", route_cfg("https://10.0.0.1:8443", "authorization", "Bearer", {"main"})}});
  EXPECT_TRUE(t.ok());
  return std::move(*t);
}

size_t count(const Headers& h, const std::string& name) {
  size_t n = 0;
  for (const auto& [k, v] : h) n += sb::iequals(k, name) ? 1 : 0;
  return n;
}

std::optional<std::string> get(const Headers& h, const std::string& name) {
  for (const auto& [k, v] : h)
    if (sb::iequals(k, name)) return v;
  return std::nullopt;
}

TEST(TokenRegistry, MintsWellFormedDistinctTokens) {
  TokenRegistry reg;
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto t = reg.mint({"run", "ns", 1});
    EXPECT_TRUE(TokenRegistry::well_formed(t.reveal())) << t.reveal();
    EXPECT_EQ(t.reveal().rfind("sbp_", 0), 0u);
    EXPECT_TRUE(seen.insert(t.reveal()).second);
  }
  EXPECT_EQ(reg.size(), 200u);
}

TEST(TokenRegistry, LooksUpAndRevokes) {
  TokenRegistry reg;
  auto a = reg.mint({"run-a", "alpha", 7});
  auto b = reg.mint({"run-b", "beta", 8});
  auto ga = reg.lookup(a.reveal());
  ASSERT_TRUE(ga);
  EXPECT_EQ(ga->run_id, "run-a");
  EXPECT_EQ(ga->namespace_name, "alpha");
  EXPECT_EQ(ga->lease_id, 7u);
  EXPECT_TRUE(reg.revoke(a.reveal()));
  EXPECT_FALSE(reg.lookup(a.reveal()));
  EXPECT_FALSE(reg.revoke(a.reveal()));
  EXPECT_TRUE(reg.lookup(b.reveal()));
}

TEST(TokenRegistry, RejectsMalformedAndNearMisses) {
  TokenRegistry reg;
  auto t = reg.mint({"r", "n", 1}).reveal();
  std::string flipped = t;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  std::string upper = t;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& bad : {std::string(), std::string("sbp_"), t.substr(0, t.size() - 1), t + "0", flipped, upper,
                                 "Bearer " + t, std::string(68, 'a')}) {
    EXPECT_FALSE(reg.lookup(bad)) << bad;
  }
}

TEST(TokenRegistry, ConcurrentMintLookupRevoke) {
  TokenRegistry reg;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto tok = reg.mint({"run" + std::to_string(t), "ns", static_cast<uint64_t>(i)});
        if (!reg.lookup(tok.reveal())) ++failures;
        if (!reg.revoke(tok.reveal())) ++failures;
        if (reg.lookup(tok.reveal())) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(reg.size(), 0u);
}

TEST(RouteTable, FirstSegmentNamesTheRouteAndTheRestIsForwarded) {
  auto t = route_table();
  auto m = t.match("/anthropic/v1/messages");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->route->name, "anthropic");
  EXPECT_EQ(m->upstream_target, "/v1/messages");
  EXPECT_EQ(m->path, "/anthropic/v1/messages");

  auto q = t.match("/anthropic/v1/messages?beta=true&x=%2F");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->upstream_target, "/v1/messages?beta=true&x=%2F");
  EXPECT_EQ(q->path, "/anthropic/v1/messages");

  auto root = t.match("/anthropic");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->upstream_target, "/");
  auto root_q = t.match("/anthropic?x=1");
  ASSERT_TRUE(root_q.ok());
  EXPECT_EQ(root_q->upstream_target, "/?x=1");
}

TEST(RouteTable, UpstreamBasePathIsAPrefix) {
  auto t = route_table();
  auto m = t.match("/based/v1/x?y=1");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->upstream_target, "/api/v2/v1/x?y=1");
  EXPECT_EQ(m->route->upstream.host, "127.0.0.1");
  EXPECT_EQ(m->route->upstream.port, 8080);
  EXPECT_FALSE(m->route->upstream.tls);
  EXPECT_EQ(m->route->upstream.host_header(), "127.0.0.1:8080");
  EXPECT_EQ(t.match("/based")->upstream_target, "/api/v2");
  EXPECT_EQ(t.find("anthropic")->upstream.host_header(), "api.anthropic.com");
  EXPECT_EQ(t.find("anthropic")->upstream.port, 443);
}

TEST(RouteTable, UnknownRoutesAndBadTargets) {
  auto t = route_table();
  for (const char* target : {"/", "//anthropic/v1", "/nope/v1", "/Anthropic/v1", "/anthropicx/v1", "/?x"}) {
    auto m = t.match(target);
    ASSERT_FALSE(m.ok()) << target;
    EXPECT_EQ(m.error().code, "proxy.unknown_route") << target;
  }
  for (const char* target :
       {"", "anthropic/v1", "http://evil/anthropic/v1", "*", "/anthropic/../based/x", "/anthropic/v1/%2e%2e/admin",
        "/anthropic/./v1", "/anthropic/%2E/v1", "/anthropic/a\\b", "/anthropic/a b", "/anthropic/x#frag"}) {
    auto m = t.match(target);
    ASSERT_FALSE(m.ok()) << target;
    EXPECT_EQ(m.error().code, "proxy.bad_target") << target;
  }
  // Dots inside a segment are ordinary.
  EXPECT_TRUE(t.match("/anthropic/v1/file..txt").ok());
  EXPECT_TRUE(t.match("/anthropic/.well-known/x").ok());
}

TEST(RouteTable, RejectsBadConfiguration) {
  for (auto routes :
       std::vector<std::map<std::string, sb::config::ProxyRoute>>{{{"r", route_cfg("ftp://x")}},
                                                                  {{"r", route_cfg("not a url")}},
                                                                  {{"r", route_cfg("https://x/v1?key=1")}},
                                                                  {{"Bad Name", route_cfg("https://x")}},
                                                                  {{"r", route_cfg("https://x", "")}}}) {
    auto t = RouteTable::from_config(routes);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, "proxy.bad_route");
  }
}

TEST(RouteTable, NamespacesLimitRoutes) {
  auto t = route_table();
  EXPECT_TRUE(t.find("private")->allows("main"));
  EXPECT_FALSE(t.find("private")->allows("other"));
  EXPECT_TRUE(t.find("anthropic")->allows("anyone"));
  EXPECT_EQ(t.names_for("other"), (std::vector<std::string>{"anthropic", "based"}));
  EXPECT_EQ(t.names_for("main"), (std::vector<std::string>{"anthropic", "based", "private"}));
}

TEST(HopByHop, FixedSetAndConnectionOptionsAreStripped) {
  Headers in = {{"Connection", "keep-alive, X-Drop"},
                {"connection", "X-Also"},
                {"Keep-Alive", "timeout=5"},
                {"TE", "trailers"},
                {"Trailer", "X-T"},
                {"Transfer-Encoding", "chunked"},
                {"Upgrade", "h2c"},
                {"Proxy-Authorization", "Basic abc"},
                {"Proxy-Connection", "keep-alive"},
                {"Proxy-Anything", "1"},
                {"X-Drop", "1"},
                {"x-also", "1"},
                {"X-Keep", "yes"},
                {"Content-Type", "application/json"}};
  auto out = strip_hop_by_hop(in);
  EXPECT_EQ(out, (Headers{{"X-Keep", "yes"}, {"Content-Type", "application/json"}}));
  EXPECT_TRUE(is_hop_by_hop("TRANSFER-ENCODING"));
  EXPECT_FALSE(is_hop_by_hop("x-api-key"));
  EXPECT_EQ(connection_options({{"Connection", " Close ,,x-a ,"}}), (std::vector<std::string>{"close", "x-a"}));
}

TEST(ForwardHeaders, ClientTokenFromApiKeyOrBearer) {
  EXPECT_EQ(client_token({{"X-Api-Key", "sbp_1"}}), "sbp_1");
  EXPECT_EQ(client_token({{"Authorization", "Bearer sbp_2"}}), "sbp_2");
  EXPECT_EQ(client_token({{"authorization", "bearer   sbp_3"}}), "sbp_3");
  EXPECT_EQ(client_token({{"Authorization", "Bearer b"}, {"x-api-key", "a"}}), "a");
  EXPECT_FALSE(client_token({{"Authorization", "Basic abc"}}));
  EXPECT_FALSE(client_token({{"Authorization", "Bearer "}}));
  EXPECT_FALSE(client_token({{"x-api-key", ""}}));
  EXPECT_FALSE(client_token({}));
}

TEST(ForwardHeaders, InjectsApiKeyAndStripsEveryClientCredential) {
  auto t = route_table();
  const Route& r = *t.find("anthropic");
  Headers client = {{"Host", "proxy"},
                    {"x-api-key", "sbp_token"},
                    {"Authorization", "Bearer sbp_token"},
                    {"Proxy-Authorization", "Bearer sbp_token"},
                    {"Content-Length", "12"},
                    {"Expect", "100-continue"},
                    {"anthropic-version", "2023-06-01"},
                    {"Connection", "close"}};
  auto out = upstream_request_headers(client, r, r.credential(sb::Secret("REAL")));
  EXPECT_EQ(get(out, "x-api-key"), "REAL");
  EXPECT_EQ(count(out, "x-api-key"), 1u);
  EXPECT_EQ(count(out, "authorization"), 0u);
  EXPECT_EQ(get(out, "host"), "api.anthropic.com");
  EXPECT_EQ(count(out, "host"), 1u);
  EXPECT_EQ(get(out, "anthropic-version"), "2023-06-01");
  for (const char* gone : {"content-length", "expect", "connection", "proxy-authorization"})
    EXPECT_EQ(count(out, gone), 0u) << gone;
  for (const auto& [k, v] : out) EXPECT_EQ(v.find("sbp_token"), std::string::npos) << k;
}

TEST(ForwardHeaders, InjectsBearerScheme) {
  auto t = route_table();
  const Route& r = *t.find("private");
  auto out = upstream_request_headers({{"X-Api-Key", "sbp_t"}, {"Authorization", "Bearer sbp_t"}}, r,
                                      r.credential(sb::Secret("sk-real")));
  EXPECT_EQ(get(out, "authorization"), "Bearer sk-real");
  EXPECT_EQ(count(out, "authorization"), 1u);
  EXPECT_EQ(count(out, "x-api-key"), 0u);
  EXPECT_EQ(get(out, "host"), "10.0.0.1:8443");
}

// A keyless route (a local model server): the placeholder is stripped, nothing is added.
TEST(ForwardHeaders, AKeylessRouteSendsNoCredential) {
  auto cfg = route_cfg("http://127.0.0.1:11434", "authorization", "Bearer");
  cfg.secret.clear();
  auto t = RouteTable::from_config({{"local", cfg}});
  ASSERT_TRUE(t.ok()) << t.error().message;
  const Route& r = *t->find("local");
  auto out = upstream_request_headers({{"X-Api-Key", "sbp_t"}, {"Authorization", "Bearer sbp_t"}, {"X-Keep", "1"}}, r,
                                      sb::Secret(""));
  EXPECT_EQ(count(out, "authorization"), 0u);
  EXPECT_EQ(count(out, "x-api-key"), 0u);
  EXPECT_EQ(get(out, "x-keep"), "1");
  EXPECT_EQ(get(out, "host"), "127.0.0.1:11434");
}

TEST(ForwardHeaders, ResponseLosesHopByHopAndLength) {
  auto out = client_response_headers({{"Content-Type", "text/event-stream"},
                                      {"Content-Length", "10"},
                                      {"Transfer-Encoding", "chunked"},
                                      {"Connection", "X-Secret"},
                                      {"X-Secret", "1"},
                                      {"Keep-Alive", "timeout=5"},
                                      {"request-id", "req_1"}});
  EXPECT_EQ(out, (Headers{{"Content-Type", "text/event-stream"}, {"request-id", "req_1"}}));
}

struct AdmissionCase : ::testing::Test {
  RouteTable routes = route_table();
  TokenRegistry tokens;
  std::string main_token = tokens.mint({"run-1", "main", 1}).reveal();
  std::string other_token = tokens.mint({"run-2", "other", 2}).reveal();

  std::variant<Admission, Denial> admit_with(std::string target, Headers headers,
                                             std::optional<uint64_t> length = std::nullopt) {
    return admit(RequestHead{"POST", std::move(target), std::move(headers), length}, tokens, routes, 1000);
  }
};

TEST_F(AdmissionCase, AcceptsALiveTokenOnAnAllowedRoute) {
  auto d = admit_with("/private/v1/x?q=1", {{"Authorization", "Bearer " + main_token}}, 10);
  ASSERT_TRUE(std::holds_alternative<Admission>(d));
  auto& a = std::get<Admission>(d);
  EXPECT_EQ(a.grant.run_id, "run-1");
  EXPECT_EQ(a.grant.namespace_name, "main");
  EXPECT_EQ(a.match.route->name, "private");
  EXPECT_EQ(a.match.upstream_target, "/v1/x?q=1");
}

TEST_F(AdmissionCase, TokenIsCheckedBeforeEverythingElse) {
  // Without a live token nothing about routes is revealed: 401, not 404 or 403.
  for (auto target : {"/nope/x", "/private/x", "/../x"}) {
    auto d = admit_with(target, {{"x-api-key", "sbp_" + std::string(64, '0')}}, 1 << 20);
    ASSERT_TRUE(std::holds_alternative<Denial>(d));
    EXPECT_EQ(std::get<Denial>(d).status, 401) << target;
    EXPECT_EQ(std::get<Denial>(d).reason, "unknown_token");
  }
  auto missing = admit_with("/anthropic/x", {});
  EXPECT_EQ(std::get<Denial>(missing).status, 401);
  EXPECT_EQ(std::get<Denial>(missing).reason, "missing_token");
  EXPECT_EQ(std::get<Denial>(missing).type, "authentication_error");
}

TEST_F(AdmissionCase, UnknownRouteForbiddenNamespaceTooLargeBadTarget) {
  auto unknown = admit_with("/nope/x", {{"x-api-key", main_token}});
  EXPECT_EQ(std::get<Denial>(unknown).status, 404);
  EXPECT_EQ(std::get<Denial>(unknown).grant->run_id, "run-1");
  auto forbidden = admit_with("/private/x", {{"x-api-key", other_token}});
  EXPECT_EQ(std::get<Denial>(forbidden).status, 403);
  EXPECT_EQ(std::get<Denial>(forbidden).route, "private");
  EXPECT_TRUE(is_credential_denial(std::get<Denial>(forbidden)));
  auto large = admit_with("/anthropic/x", {{"x-api-key", other_token}}, 1001);
  EXPECT_EQ(std::get<Denial>(large).status, 413);
  EXPECT_FALSE(is_credential_denial(std::get<Denial>(large)));
  EXPECT_TRUE(std::holds_alternative<Admission>(admit_with("/anthropic/x", {{"x-api-key", other_token}}, 1000)));
  auto bad = admit_with("/anthropic/../private", {{"x-api-key", other_token}});
  EXPECT_EQ(std::get<Denial>(bad).status, 400);
}

TEST_F(AdmissionCase, RevokedTokenIsRefused) {
  tokens.revoke(main_token);
  auto d = admit_with("/anthropic/x", {{"x-api-key", main_token}});
  EXPECT_EQ(std::get<Denial>(d).status, 401);
}

TEST(ErrorBody, IsTheContractShape) {
  EXPECT_EQ(error_body("not_found_error", "no \"x\""), R"({"error":{"type":"not_found_error","message":"no \"x\""}})");
}

TEST(LeaseEnv, ContractVariables) {
  sb::Secret token("sbp_abc");
  auto env = container_environment(3001, token, {"anthropic", "other"});
  EXPECT_EQ(env.at("SQUADBOX_PROXY_SOCKET"), "/workspace/ipc/proxy.sock");
  EXPECT_EQ(env.at("SQUADBOX_PROXY_PORT"), "3001");
  EXPECT_EQ(env.at("SQUADBOX_PROXY_TOKEN"), "sbp_abc");
  EXPECT_EQ(env.at("SQUADBOX_PROXY_URL"), "http://127.0.0.1:3001");
  EXPECT_EQ(env.at("ANTHROPIC_BASE_URL"), "http://127.0.0.1:3001/anthropic");
  EXPECT_EQ(env.at("ANTHROPIC_API_KEY"), "sbp_abc");
  auto without = container_environment(4000, token, {"other"});
  EXPECT_EQ(without.count("ANTHROPIC_BASE_URL"), 0u);
  EXPECT_EQ(without.count("ANTHROPIC_API_KEY"), 0u);
  EXPECT_EQ(without.at("SQUADBOX_PROXY_URL"), "http://127.0.0.1:4000");
}

TEST(Telemetry, AuditDetailAndMetrics) {
  std::vector<sb::AuditRecord> records;
  sb::metrics::Registry registry;
  ProxyTelemetry telemetry([&](sb::AuditRecord r) { records.push_back(std::move(r)); }, &registry);
  telemetry.request({"main", "run-1", "anthropic", "POST", "/anthropic/v1/messages", 200, 12, 345, 1.5});
  telemetry.denied({"unknown_token", "", "", "", "GET", "/anthropic/x", 401});
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].actor, "proxy");
  EXPECT_EQ(records[0].event, "proxy.request");
  EXPECT_EQ(records[0].subject, "anthropic");
  EXPECT_EQ(records[0].detail,
            R"({"namespace":"main","run":"run-1","route":"anthropic","method":"POST","path":"/anthropic/v1/messages",)"
            R"("status":200,"request_bytes":12,"response_bytes":345,"duration_ms":1.500})");
  EXPECT_EQ(records[1].event, "proxy.denied");
  EXPECT_NE(records[1].detail.find(R"("reason":"unknown_token")"), std::string::npos);
  auto text = registry.render();
  EXPECT_NE(text.find(R"(squadbox_proxy_requests_total{namespace="main",route="anthropic",status="200"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(squadbox_proxy_request_bytes_total{namespace="main",route="anthropic"} 12)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(squadbox_proxy_response_bytes_total{namespace="main",route="anthropic"} 345)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(squadbox_proxy_request_duration_seconds_count{namespace="main",route="anthropic"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(squadbox_proxy_denied_total{reason="unknown_token"} 1)"), std::string::npos);
}

}  // namespace
