// The routing-model routes through the real admin API (bearer check included) on a real
// http::Server on loopback, over a NamespaceStore on a temp SQLite file.
#include "actors/app/admin/namespaces_routes.hpp"

#include <algorithm>
#include <mutex>

#include <gtest/gtest.h>

#include "actors/app/admin/admin_routes.hpp"
#include "runtime/http/client.hpp"
#include "runtime/http/server.hpp"
#include "tests/support/actor_test_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;

const std::string kNamespacesRoutesToken(64, 'n');

class NamespacesApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = sb::storage::NamespaceStore::open(dir_.file("squadbox.db"), dir_.path());
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::shared_ptr<sb::storage::NamespaceStore>(std::move(*store));
    sb::app::admin::AdminApiOptions o;
    o.version = "test";
    o.token = sb::Secret(kNamespacesRoutesToken);
    o.extensions.push_back([this](sb::http::Router& api) {
      sb::app::admin::add_namespaces_routes(
          api, store_,
          [this](sb::AuditRecord r) {
            std::lock_guard lock(mutex_);
            audit_.push_back(std::move(r));
          },
          *sb::namespaces::agent_defaults(sb::config::ContainerConfig{}));
    });
    api_ = std::make_unique<sb::app::admin::AdminApi>(fx_.system, caf::actor{}, metrics_, std::move(o));
    server_ = std::make_unique<sb::http::Server>(sb::http::ServerOptions{}, api_->handler(), nullptr);
    auto port = server_->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    base_ = "http://127.0.0.1:" + std::to_string(*port);
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  sb::http::Response call(const std::string& method, const std::string& path, const std::string& body = "",
                          const std::string& token = kNamespacesRoutesToken) {
    sb::http::Headers h;
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    if (!body.empty()) h.emplace_back("Content-Type", "application/json");
    auto r = sb::http::request(method, base_ + path, h, body, 10s);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : sb::http::Response{};
  }
  // The "id" of a JSON answer (ids are UUIDs: no escaping to worry about).
  static std::string id_of(const std::string& body) {
    auto at = body.find("\"id\":\"");
    if (at == std::string::npos) return "";
    at += 6;
    return body.substr(at, body.find('"', at) - at);
  }
  std::vector<std::string> audit_events() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& r : audit_) out.push_back(r.event);
    return out;
  }

  sb::test::TempDir dir_;
  std::shared_ptr<sb::storage::NamespaceStore> store_;
  sb::test::ActorSystemFixture fx_;
  sb::metrics::Registry metrics_;
  std::unique_ptr<sb::app::admin::AdminApi> api_;
  std::unique_ptr<sb::http::Server> server_;
  std::string base_;
  std::mutex mutex_;
  std::vector<sb::AuditRecord> audit_;
};

const std::string kNs = "/api/v1/container/namespaces";

TEST_F(NamespacesApi, CreateListGetPatchDeleteInTheProductShape) {
  auto created = call("POST", kNs, R"({"name":"team","description":"The team"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = id_of(created.body);
  ASSERT_EQ(id.size(), 36u) << created.body;
  for (const char* part : {R"("name":"team")", R"("description":"The team")", R"("createdAt":")", R"(Z","updatedAt":")",
                           R"("isMain":true)", R"("requiresTrigger":true)", R"("sessionDir":")", R"(/sessions/team")",
                           R"(/workspaces/team")", R"("jids":[])"})
    EXPECT_NE(created.body.find(part), std::string::npos) << part << " in " << created.body;

  auto list = call("GET", kNs);
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.body.front(), '[');
  EXPECT_NE(list.body.find(id), std::string::npos);

  EXPECT_EQ(call("GET", kNs + "/" + id).status, 200);
  auto patched = call("PATCH", kNs + "/" + id,
                      R"({"trigger":"@Andy","requiresTrigger":false,"containerConfig":{"image":"squadbox/agent:1",)"
                      R"("timeoutSecs":600,"mounts":[{"hostPath":"/srv/x","readonly":true}],"env":["TZ"]}})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_NE(patched.body.find(R"("trigger":"@Andy")"), std::string::npos);
  EXPECT_NE(patched.body.find(R"("timeoutSecs":600)"), std::string::npos) << patched.body;
  EXPECT_NE(patched.body.find(R"("description":"The team")"), std::string::npos) << "unchanged fields kept";

  EXPECT_EQ(call("GET", kNs + "/00000000-0000-4000-8000-000000000000").status, 404);
  EXPECT_EQ(call("DELETE", kNs + "/" + id).status, 204);
  EXPECT_EQ(call("DELETE", kNs + "/" + id).status, 404);
  EXPECT_EQ(call("PATCH", kNs + "/" + id, R"({"description":"x"})").status, 404);
  EXPECT_EQ(audit_events(), (std::vector<std::string>{"namespace.created", "namespace.updated", "namespace.removed"}));
}

// The agent object: POST and PATCH set it member by member (null: the node's default),
// every answer shows it and, beside it, what the agent gets (agentEffective).
TEST_F(NamespacesApi, AgentSettingsAreSetMergedAndShownWithTheEffectiveValues) {
  auto created = call("POST", kNs,
                      R"({"name":"team","agent":{"mode":"llm","route":"local","protocol":"openai",)"
                      R"("model":"qwen2.5","maxTokens":2048,"tools":["read_file","bash"],)"
                      R"("instructions":"Answer in German.\n"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_NE(created.body.find(R"("agent":{"mode":"llm","route":"local","protocol":"openai","model":"qwen2.5",)"
                              R"("maxTokens":2048,"tools":["read_file","bash"],"instructions":"Answer in German.\n"})"),
            std::string::npos)
      << created.body;
  EXPECT_NE(created.body.find(R"("agentEffective":{"mode":"llm","route":"local","protocol":"openai",)"
                              R"("model":"qwen2.5","maxTokens":2048,"maxSteps":20,"tools":["read_file","bash"],)"
                              R"("command":[]})"),
            std::string::npos)
      << created.body;
  const std::string id = id_of(created.body);

  auto patched = call("PATCH", kNs + "/team", R"({"agent":{"model":null,"maxSteps":5,"tools":null}})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_NE(patched.body.find(R"("agent":{"mode":"llm","route":"local","protocol":"openai","maxTokens":2048,)"
                              R"("maxSteps":5,"instructions":"Answer in German.\n"})"),
            std::string::npos)
      << patched.body;
  EXPECT_NE(patched.body.find(R"("model":"claude-sonnet-4-5","maxTokens":2048,"maxSteps":5,"tools":["bash",)"),
            std::string::npos)
      << "back to the node's model and every tool: " << patched.body;
  auto got = call("GET", kNs + "/" + id);
  EXPECT_NE(got.body.find(R"("maxSteps":5,"instructions")"), std::string::npos) << got.body;
  auto list = call("GET", kNs);
  EXPECT_NE(list.body.find(R"("agentEffective":{"mode":"llm")"), std::string::npos) << list.body;

  auto bad = call("PATCH", kNs + "/team", R"({"agent":{"maxSteps":0}})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find(R"("message":"agent.maxSteps: must be an integer from 1 to 200")"), std::string::npos)
      << bad.body;

  auto reset = call("PATCH", kNs + "/team", R"({"agent":null})");
  ASSERT_EQ(reset.status, 200) << reset.body;
  EXPECT_NE(reset.body.find(R"("agent":{"instructions":""})"), std::string::npos) << reset.body;
  EXPECT_NE(reset.body.find(R"("agentEffective":{"mode":"echo","route":"anthropic","protocol":"anthropic")"),
            std::string::npos)
      << reset.body;
}

TEST_F(NamespacesApi, EveryRouteNeedsTheToken) {
  EXPECT_EQ(call("GET", kNs, "", "").status, 401);
  EXPECT_EQ(call("POST", kNs, R"({"name":"x"})", std::string(64, 'x')).status, 401);
  EXPECT_EQ(call("GET", "/api/v1/container/routing", "", "").status, 401);
  EXPECT_TRUE(store_->list()->empty());
}

// Every bad input is a 400 whose message starts with the offending field.
TEST_F(NamespacesApi, BadNamespaceBodiesAre400NamingTheField) {
  struct Case {
    std::string body, field;
  };
  const std::vector<Case> cases = {
      {R"({"description":"no name"})", "name"},
      {R"({"name":""})", "name"},
      {R"({"name":"-dash"})", "name"},
      {R"({"name":"has space"})", "name"},
      {R"({"name":")" + std::string(65, 'a') + R"("})", "name"},
      {R"({"name":"caf\u00e9"})", "name"},
      {R"({"name":42})", "name"},
      {R"({"name":"ok","description":")" + std::string(1025, 'd') + R"("})", "description"},
      {R"({"name":"ok","isMain":"yes"})", "isMain"},
      {R"({"name":"ok","trigger":" @x"})", "trigger"},
      {R"({"name":"ok","trigger":"@a\nb"})", "trigger"},
      {R"({"name":"ok","requiresTrigger":1})", "requiresTrigger"},
      {R"({"name":"ok","instructionsFile":"/etc/passwd"})", "instructionsFile"},
      {R"({"name":"ok","instructionsFile":"../x.md"})", "instructionsFile"},
      {R"({"name":"ok","containerConfig":[]})", "containerConfig"},
      {R"({"name":"ok","containerConfig":{"image":"-bad"}})", "containerConfig.image"},
      {R"({"name":"ok","containerConfig":{"timeoutSecs":-1}})", "containerConfig.timeoutSecs"},
      {R"({"name":"ok","containerConfig":{"idleTimeoutSecs":"5"}})", "containerConfig.idleTimeoutSecs"},
      {R"({"name":"ok","containerConfig":{"mounts":[{"readonly":true}]}})", "containerConfig.mounts[0].hostPath"},
      {R"({"name":"ok","containerConfig":{"mounts":[{"hostPath":"rel"}]}})", "containerConfig.mounts[0].hostPath"},
      {R"({"name":"ok","containerConfig":{"mounts":[{"hostPath":"/a","containerPath":"../b"}]}})",
       "containerConfig.mounts[0].containerPath"},
      {R"({"name":"ok","containerConfig":{"mounts":[{"hostPath":"/a","readonly":"no"}]}})",
       "containerConfig.mounts[0].readonly"},
      {R"({"name":"ok","containerConfig":{"env":["A=B"]}})", "containerConfig.env[0]"},
      {R"({"name":"ok","containerConfig":{"cpus":2}})", "containerConfig.cpus"},
      {R"({"name":"ok","colour":"red"})", "colour"},
      {R"({"name":"ok","agent":[]})", "agent"},
      {R"({"name":"ok","agent":{"mode":"chat"}})", "agent.mode"},
      {R"({"name":"ok","agent":{"maxSteps":500}})", "agent.maxSteps"},
      {R"({"name":"ok","agent":{"maxTokens":"1"}})", "agent.maxTokens"},
      {R"({"name":"ok","agent":{"protocol":"grpc"}})", "agent.protocol"},
      {R"({"name":"ok","agent":{"route":"a b"}})", "agent.route"},
      {R"({"name":"ok","agent":{"tools":["bash","telnet"]}})", "agent.tools[1]"},
      {R"({"name":"ok","agent":{"command":"ls"}})", "agent.command"},
      {R"({"name":"ok","agent":{"instructions":42}})", "agent.instructions"},
      {R"({"name":"ok","agent":{"image":"x:1"}})", "agent.image"},
  };
  for (const auto& c : cases) {
    auto r = call("POST", kNs, c.body);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find(R"("code":"invalid_field")"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(R"("message":")" + c.field + ": "), std::string::npos) << c.field << " in " << r.body;
  }
  for (const std::string body : {"", "not json", "[1]", R"({"name":"x")"}) {
    auto r = call("POST", kNs, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_NE(r.body.find("invalid_json"), std::string::npos) << r.body;
  }
  EXPECT_TRUE(store_->list()->empty()) << "nothing was created";
  EXPECT_TRUE(audit_events().empty());
}

TEST_F(NamespacesApi, ConflictsAre409) {
  auto a = call("POST", kNs, R"({"name":"alpha"})");
  auto b = call("POST", kNs, R"({"name":"beta"})");
  ASSERT_EQ(b.status, 201);
  EXPECT_EQ(call("POST", kNs, R"({"name":"alpha"})").status, 409);
  EXPECT_EQ(call("PATCH", kNs + "/" + id_of(b.body), R"({"name":"alpha"})").status, 409);
  EXPECT_EQ(call("PATCH", kNs + "/" + id_of(a.body), R"({"isMain":false})").status, 409);
  auto refused = call("DELETE", kNs + "/" + id_of(a.body));
  EXPECT_EQ(refused.status, 409);
  EXPECT_NE(refused.body.find("main namespace"), std::string::npos) << refused.body;
  auto promote = call("PATCH", kNs + "/" + id_of(b.body), R"({"isMain":true})");
  EXPECT_NE(promote.body.find(R"("isMain":true)"), std::string::npos) << promote.body;
  EXPECT_EQ(call("DELETE", kNs + "/" + id_of(a.body)).status, 204) << "no longer the main";
}

TEST_F(NamespacesApi, MappingsAddListReplaceAndRemove) {
  const std::string m = "/api/v1/container/mappings";
  auto a = call("POST", kNs, R"({"name":"alpha"})");
  auto b = call("POST", kNs, R"({"name":"beta"})");
  const std::string alpha = id_of(a.body);
  auto added = call("POST", m, R"({"jid":"slack:C01234567","namespaceId":")" + alpha + R"("})");
  EXPECT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(call("POST", m, R"({"jid":"tg:-1001","namespace":"beta"})").status, 201);
  EXPECT_EQ(call("POST", m, R"({"jid":"tg:-1001","namespace":"beta"})").status, 200) << "idempotent";
  EXPECT_EQ(call("POST", m, R"({"jid":"tg:-1001","namespace":"alpha"})").status, 409);
  auto moved = call("POST", m, R"({"jid":"tg:-1001","namespace":"alpha","replace":true})");
  EXPECT_EQ(moved.status, 201) << moved.body;
  auto of_alpha = call("GET", m + "?namespace=alpha");
  EXPECT_NE(of_alpha.body.find("tg:-1001"), std::string::npos) << of_alpha.body;
  EXPECT_NE(of_alpha.body.find("slack:C01234567"), std::string::npos);
  EXPECT_EQ(call("GET", m + "?namespace=beta").body, "[]");
  EXPECT_EQ(call("GET", m + "?namespace=nope").status, 400);
  EXPECT_NE(call("GET", kNs + "/" + alpha).body.find(R"("jids":["slack:C01234567","tg:-1001"])"), std::string::npos);
  EXPECT_EQ(call("DELETE", m + "/tg%3A-1001").status, 204);
  EXPECT_EQ(call("DELETE", m + "/tg%3A-1001").status, 404);
  EXPECT_EQ(call("DELETE", m + "/nonsense").status, 400);
  EXPECT_EQ(call("GET", m).body.find("tg:-1001"), std::string::npos);
  (void)b;

  struct Case {
    std::string body, field;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"namespace":"alpha"})", "jid"},
           {R"({"jid":"","namespace":"alpha"})", "jid"},
           {R"({"jid":"irc:#x","namespace":"alpha"})", "jid"},
           {R"({"jid":"tg:","namespace":"alpha"})", "jid"},
           {R"({"jid":"tg:1 2","namespace":"alpha"})", "jid"},
           {R"({"jid":7,"namespace":"alpha"})", "jid"},
           {R"({"jid":"tg:1"})", "namespaceId"},
           {R"({"jid":"tg:1","namespaceId":"x","namespace":"alpha"})", "namespaceId"},
           {R"({"jid":"tg:1","namespace":"nope"})", "namespace"},
           {R"({"jid":"tg:1","namespace":"bad name"})", "namespace"},
           {R"({"jid":"tg:1","namespaceId":"00000000-0000-4000-8000-000000000000"})", "namespaceId"},
           {R"({"jid":"tg:1","namespace":"alpha","replace":"yes"})", "replace"},
           {R"({"jid":"tg:1","namespace":"alpha","force":true})", "force"},
       }) {
    auto r = call("POST", m, c.body);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find(R"("message":")" + c.field + ": "), std::string::npos) << c.field << " in " << r.body;
  }
}

TEST_F(NamespacesApi, AllowlistsPerBot) {
  const std::string path = "/api/v1/container/allowlists/telegram/main";
  auto initial = call("GET", path);
  EXPECT_EQ(initial.status, 200);
  EXPECT_NE(initial.body.find(R"("mode":"everyone")"), std::string::npos) << initial.body;
  auto set = call("PUT", path, R"({"mode":"list","senders":["111","222","111"]})");
  EXPECT_EQ(set.status, 200) << set.body;
  EXPECT_NE(set.body.find(R"("senders":["111","222"])"), std::string::npos) << "deduplicated: " << set.body;
  EXPECT_NE(call("GET", path).body.find(R"("mode":"list")"), std::string::npos);
  EXPECT_NE(call("GET", "/api/v1/container/allowlists").body.find(R"("bot":"main")"), std::string::npos);
  EXPECT_EQ(call("PUT", path, R"({"mode":"everyone"})").status, 200);
  EXPECT_NE(call("GET", path).body.find(R"("senders":[])"), std::string::npos);

  struct Case {
    std::string path, body, field;
  };
  for (const Case& c : std::vector<Case>{
           {path, R"({})", "mode"},
           {path, R"({"mode":"some"})", "mode"},
           {path, R"({"mode":"list"})", "senders"},
           {path, R"({"mode":"list","senders":"111"})", "senders"},
           {path, R"({"mode":"list","senders":[111]})", "senders"},
           {path, R"({"mode":"list","senders":[""]})", "senders"},
           {path, R"({"mode":"everyone","senders":["1"]})", "senders"},
           {"/api/v1/container/allowlists/irc/main", R"({"mode":"everyone"})", "platform"},
           {"/api/v1/container/allowlists/telegram/bad%20bot", R"({"mode":"everyone"})", "bot"},
           {"/api/v1/container/allowlists/telegram", R"({"mode":"everyone"})", "bot"},
       }) {
    auto r = call("PUT", c.path, c.body);
    EXPECT_EQ(r.status, 400) << c.path << " " << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find(R"("message":")" + c.field + ": "), std::string::npos) << c.field << " in " << r.body;
  }
  auto events = audit_events();
  EXPECT_EQ(std::count(events.begin(), events.end(), "allowlist.set"), 2);
}

TEST_F(NamespacesApi, DefaultRoutingPolicy) {
  const std::string path = "/api/v1/container/routing";
  EXPECT_EQ(call("GET", path).body, R"({"defaultPolicy":"ignore"})");
  auto a = call("POST", kNs, R"({"name":"alpha"})");
  auto set = call("PUT", path, R"({"defaultPolicy":"namespace","defaultNamespace":"alpha"})");
  EXPECT_EQ(set.status, 200) << set.body;
  EXPECT_NE(set.body.find(id_of(a.body)), std::string::npos) << set.body;
  EXPECT_EQ(call("DELETE", kNs + "/" + id_of(a.body)).status, 409) << "it is the default namespace";
  EXPECT_EQ(call("PUT", path, R"({"defaultPolicy":"ignore"})").body, R"({"defaultPolicy":"ignore"})");

  struct Case {
    std::string body, field;
  };
  for (const Case& c : std::vector<Case>{
           {R"({})", "defaultPolicy"},
           {R"({"defaultPolicy":"drop"})", "defaultPolicy"},
           {R"({"defaultPolicy":"namespace"})", "defaultNamespace"},
           {R"({"defaultPolicy":"namespace","defaultNamespace":"nope"})", "defaultNamespace"},
           {R"({"defaultPolicy":"namespace","defaultNamespace":""})", "defaultNamespace"},
           {R"({"defaultPolicy":"ignore","defaultNamespace":"alpha"})", "defaultNamespace"},
       }) {
    auto r = call("PUT", path, c.body);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find(R"("message":")" + c.field + ": "), std::string::npos) << c.field << " in " << r.body;
  }
  EXPECT_EQ(call("GET", path).body, R"({"defaultPolicy":"ignore"})");
}

}  // namespace
