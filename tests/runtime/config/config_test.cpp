#include "runtime/config/config.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;
using sb::config::load;

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sbcfg-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& text) {
    auto path = (dir_ / "squadbox.toml").string();
    std::ofstream(path) << text;
    return path;
  }
  fs::path dir_;
};

TEST(Config, DefaultsWithoutFileOrEnvironment) {
  auto c = load(std::nullopt, {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->admin.address, "127.0.0.1");
  EXPECT_EQ(c->admin.port, 55765);
  EXPECT_EQ(c->node.data_dir, "./data");
  EXPECT_EQ(c->storage_path(), "./data/squadbox.db");
  EXPECT_EQ(c->admin_token_path(), "./data/admin.token");
}

TEST_F(ConfigFile, FileValuesOverrideDefaults) {
  auto c = load(write("[admin]\nport = 8080\n[log]\nformat = \"json\"\n"), {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->admin.port, 8080);
  EXPECT_EQ(c->log.format, "json");
}

TEST_F(ConfigFile, UnknownKeyIsNamedWithItsLine) {
  auto c = load(write("[admin]\nport = 8080\nprot = 1\n"), {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "config.invalid");
  EXPECT_NE(c.error().message.find("admin.prot"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find(":3"), std::string::npos) << c.error().message;
}

TEST_F(ConfigFile, UnknownSectionIsRejected) {
  auto c = load(write("[adminn]\nport = 1\n"), {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("adminn"), std::string::npos);
  EXPECT_NE(c.error().message.find("unknown section"), std::string::npos);
}

TEST_F(ConfigFile, WrongTypeNamesKeyTypeAndLine) {
  auto c = load(write("\n[admin]\nport = \"80\"\n"), {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("admin.port: expected integer, got string"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find(":3"), std::string::npos) << c.error().message;
}

TEST_F(ConfigFile, OutOfRangeValueIsRejected) {
  auto c = load(write("[admin]\nport = 70000\n"), {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("admin.port: 70000 is out of range 0..65535"), std::string::npos)
      << c.error().message;
}

TEST_F(ConfigFile, BadChoiceIsRejected) {
  auto c = load(write("[log]\nlevel = \"loud\"\n"), {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("log.level: \"loud\" is not one of"), std::string::npos);
}

TEST_F(ConfigFile, SyntaxErrorCarriesLine) {
  auto c = load(write("[admin]\nport = = 3\n"), {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("squadbox.toml:2"), std::string::npos) << c.error().message;
}

TEST_F(ConfigFile, MissingFileIsAnErrorNotACrash) {
  auto c = load((dir_ / "nope.toml").string(), {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "config.invalid");
}

TEST_F(ConfigFile, EnvironmentOverridesFile) {
  auto c = load(write("[admin]\nport = 8080\n"), {{"SQUADBOX_ADMIN_PORT", "9090"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->admin.port, 9090);
}

TEST(Config, EveryKeyHasAnEnvironmentOverride) {
  for (const auto& key : sb::config::keys()) {
    // default + 1 is inside every integer key's range.
    std::string value = key.kind == sb::config::Kind::integer ? std::to_string(std::stoll(key.default_text) + 1) : "";
    if (key.kind == sb::config::Kind::string)  // a value each string key accepts
      value = key.choices.empty() ? "/tmp/x" : key.choices.back();
    // cluster.enabled = true needs the whole [cluster] section: the other value.
    if (key.kind == sb::config::Kind::boolean) value = key.default_text == "true" ? "true" : "false";
    // storage.backend = "postgres" needs a connection string.
    std::map<std::string, std::string> env{{"SQUADBOX_STORAGE_POSTGRES_URL", "host=db"}};
    env[key.env_name()] = value;
    auto c = load(std::nullopt, env);
    ASSERT_TRUE(c.ok()) << key.env_name() << ": " << c.error().message;
    auto rendered = sb::config::to_toml(*c);
    std::string expected = key.key + " = " + (key.kind == sb::config::Kind::string ? "\"" + value + "\"" : value);
    EXPECT_NE(rendered.find(expected), std::string::npos) << key.env_name() << "\n" << rendered;
  }
}

TEST(Config, BadEnvironmentValueNamesTheVariable) {
  auto c = load(std::nullopt, {{"SQUADBOX_ADMIN_PORT", "eighty"}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("SQUADBOX_ADMIN_PORT"), std::string::npos);
  EXPECT_NE(c.error().message.find("admin.port"), std::string::npos);
}

TEST(Config, TypoInSectionEnvironmentVariableIsRejected) {
  auto c = load(std::nullopt, {{"SQUADBOX_ADMIN_PROT", "1"}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("SQUADBOX_ADMIN_PROT"), std::string::npos);
}

TEST(Config, ClientVariablesOutsideSectionsAreIgnored) {
  auto c = load(std::nullopt, {{"SQUADBOX_DATA_DIR", "/x"}, {"SQUADBOX_TOKEN", "t"}, {"HOME", "/root"}});
  EXPECT_TRUE(c.ok());
}

TEST(Config, BackoffMaxBelowBaseIsRejected) {
  auto c = load(std::nullopt,
                {{"SQUADBOX_SUPERVISOR_BACKOFF_BASE_MS", "500"}, {"SQUADBOX_SUPERVISOR_BACKOFF_MAX_MS", "100"}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("supervisor.backoff_max_ms"), std::string::npos);
}

TEST(Config, ShownConfigurationLoadsBackIdentically) {
  auto c = load(std::nullopt, {{"SQUADBOX_ADMIN_PORT", "1234"}, {"SQUADBOX_NODE_DATA_DIR", "/tmp/a \"b\" \\c"}});
  ASSERT_TRUE(c.ok());
  auto path = fs::temp_directory_path() / ("sbcfg-roundtrip-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << sb::config::to_toml(*c);
  auto again = load(path.string(), {});
  fs::remove(path);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(sb::config::to_toml(*again), sb::config::to_toml(*c));
}

TEST_F(ConfigFile, ProxyRoutesAreParsed) {
  auto c = load(write("[proxy]\ncontainer_port = 4000\n"
                      "[proxy.routes.anthropic]\nupstream = \"https://api.anthropic.com\"\n"
                      "header = \"x-api-key\"\nsecret = \"anthropic\"\n"
                      "[proxy.routes.openai]\nupstream = \"https://api.openai.com/v1\"\n"
                      "header = \"Authorization\"\nscheme = \"Bearer\"\nsecret = \"openai\"\n"
                      "namespaces = [\"main\", \"research\"]\n"),
                {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->proxy.container_port, 4000);
  ASSERT_EQ(c->proxy.routes.size(), 2u);
  const auto& a = c->proxy.routes.at("anthropic");
  EXPECT_EQ(a.upstream, "https://api.anthropic.com");
  EXPECT_EQ(a.header, "x-api-key");
  EXPECT_EQ(a.scheme, "");
  EXPECT_EQ(a.secret, "anthropic");
  EXPECT_TRUE(a.namespaces.empty());
  const auto& o = c->proxy.routes.at("openai");
  EXPECT_EQ(o.scheme, "Bearer");
  EXPECT_EQ(o.namespaces, (std::vector<std::string>{"main", "research"}));
}

TEST_F(ConfigFile, ProxyRouteDefaultsToXApiKeyHeader) {
  auto c = load(write("[proxy.routes.x]\nupstream = \"https://u.example\"\nsecret = \"s\"\n"), {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->proxy.routes.at("x").header, "x-api-key");
}

// A route without a secret is keyless (a local model server): no credential is sent.
TEST_F(ConfigFile, AProxyRouteWithoutASecretIsKeyless) {
  auto c = load(write("[proxy.routes.local]\nupstream = \"http://127.0.0.1:11434\"\n"), {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->proxy.routes.at("local").secret, "");
  // `config show` writes it back without a secret, and that loads again.
  auto again = load(write(sb::config::to_toml(*c)), {});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->proxy.routes.at("local").secret, "");
}

// Each bad route names the route, the key and the line.
TEST_F(ConfigFile, BadProxyRoutesAreRejectedWithTheirKey) {
  struct Case {
    std::string toml, expect;
  } cases[] = {
      {"[proxy.routes.a]\nsecret = \"s\"\n", "proxy.routes.a.upstream: missing"},
      {"[proxy.routes.a]\nupstream = \"ftp://x\"\nsecret = \"s\"\n", "proxy.routes.a.upstream"},
      {"[proxy.routes.a]\nupstream = \"https://x\"\nsecret = \"\"\n", "proxy.routes.a.secret"},
      {"[proxy.routes.a]\nupstream = \"https://x\"\nsecret = \"s\"\nheader = \"x y\"\n", "proxy.routes.a.header"},
      {"[proxy.routes.a]\nupstream = \"https://x\"\nsecret = \"s\"\nheadr = \"x\"\n",
       "proxy.routes.a.headr: unknown key"},
      {"[proxy.routes.a]\nupstream = 5\nsecret = \"s\"\n", "proxy.routes.a.upstream: expected string"},
      {"[proxy.routes.a]\nupstream = \"https://x\"\nsecret = \"s\"\nnamespaces = \"main\"\n",
       "proxy.routes.a.namespaces"},
      {"[proxy.routes.Bad]\nupstream = \"https://x\"\nsecret = \"s\"\n", "proxy.routes.Bad"},
      {"[proxy]\nroutes = 1\n", "proxy.routes"},
  };
  for (const auto& k : cases) {
    auto c = load(write(k.toml), {});
    ASSERT_FALSE(c.ok()) << k.toml;
    EXPECT_EQ(c.error().code, "config.invalid");
    EXPECT_NE(c.error().message.find(k.expect), std::string::npos) << c.error().message;
  }
}

TEST_F(ConfigFile, ShownRoutesLoadBackIdentically) {
  auto c = load(write("[proxy.routes.anthropic]\nupstream = \"https://api.anthropic.com\"\nsecret = \"k\"\n"
                      "namespaces = [\"a\"]\n"),
                {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto again = load(write(sb::config::to_toml(*c)), {});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(sb::config::to_toml(*again), sb::config::to_toml(*c));
  EXPECT_EQ(again->proxy.routes.at("anthropic").namespaces, std::vector<std::string>{"a"});
}

TEST(Config, AllowlistPathExpandsHome) {
  auto c = load(std::nullopt, {});
  ASSERT_TRUE(c.ok());
  const char* home = std::getenv("HOME");
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(c->allowlist_path(), std::string(home) + "/.config/squadbox/mount-allowlist.json");
  EXPECT_EQ(c->vault_key_path(), "./data/vault.key");
}

// docs/configuration.md must carry the generated key table verbatim, so a key cannot
// be added, renamed or re-defaulted without the operator guide following.
TEST(Config, EveryKeyIsDocumented) {
  std::ifstream in(std::string(SQUADBOX_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(in.good()) << "docs/configuration.md missing";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  std::istringstream rows(sb::config::markdown_table());
  std::string row;
  while (std::getline(rows, row)) EXPECT_NE(doc.find(row), std::string::npos) << "missing row: " << row;
}

}  // namespace

namespace {

TEST_F(ConfigFile, PostgresBackendNeedsAConnectionStringWithoutAPassword) {
  EXPECT_EQ(load(std::nullopt, {})->storage.backend, "sqlite");
  auto missing = load(write("[storage]\nbackend = \"postgres\"\n"), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "config.invalid");
  EXPECT_NE(missing.error().message.find("storage.postgres_url"), std::string::npos) << missing.error().message;

  for (const char* url :
       {"host=db dbname=squadbox password=hunter2", "host=db password = 'it''s'", "dbname=x  password='a b'",
        "postgresql://squadbox:hunter2@db/squadbox", "postgres://db/squadbox?password=hunter2"}) {
    auto c = load(write(std::string("[storage]\nbackend = \"postgres\"\npostgres_url = \"") + url + "\"\n"), {});
    ASSERT_FALSE(c.ok()) << url;
    EXPECT_NE(c.error().message.find("must not contain a password"), std::string::npos) << c.error().message;
  }
  for (const char* url :
       {"host=db dbname=squadbox user=squadbox sslmode=verify-full", "host=db application_name='password=x'",
        "postgresql://squadbox@db:5432/squadbox", "postgresql://db/squadbox?sslmode=require"}) {
    auto c = load(write(std::string("[storage]\nbackend = \"postgres\"\npostgres_url = \"") + url + "\"\n"), {});
    EXPECT_TRUE(c.ok()) << url << ": " << c.error().message;
  }
}

TEST_F(ConfigFile, PostgresSchemaMustBeAPlainIdentifier) {
  for (const char* schema : {"", "Squadbox", "1abc", "a-b", "a;drop", "a.b"}) {
    auto c =
        load(write(std::string("[storage]\nbackend = \"postgres\"\npostgres_url = \"host=db\"\npostgres_schema = \"") +
                   schema + "\"\n"),
             {});
    ASSERT_FALSE(c.ok()) << schema;
    EXPECT_NE(c.error().message.find("storage.postgres_schema"), std::string::npos) << c.error().message;
  }
  auto c =
      load(write("[storage]\nbackend = \"postgres\"\npostgres_url = \"host=db\"\npostgres_schema = \"node_a2\"\n"), {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->storage.postgres_schema, "node_a2");
}

}  // namespace

namespace {

const char* kClusterBase =
    "[storage]\nbackend = \"postgres\"\npostgres_url = \"host=db\"\n"
    "[cluster]\nenabled = true\nnode_name = \"node-a\"\nlisten = \"127.0.0.1:7400\"\n"
    "tls_cert_file = \"a.crt\"\ntls_key_file = \"a.key\"\ntls_ca_file = \"ca.crt\"\n";

TEST_F(ConfigFile, AClusterNeedsPostgresANameAListenerAndTheThreeTlsFiles) {
  auto ok = load(write(kClusterBase), {});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_TRUE(ok->cluster.enabled);
  EXPECT_EQ(ok->cluster.lease_ttl_ms, 10000);

  auto on_sqlite = load(write(kClusterBase), {{"SQUADBOX_STORAGE_BACKEND", "sqlite"}});
  ASSERT_FALSE(on_sqlite);
  EXPECT_NE(on_sqlite.error().message.find("storage.backend = \"postgres\""), std::string::npos)
      << on_sqlite.error().message;

  for (const auto& [variable, needle] :
       std::map<std::string, std::string>{{"SQUADBOX_CLUSTER_NODE_NAME", "cluster.node_name"},
                                          {"SQUADBOX_CLUSTER_LISTEN", "cluster.listen"},
                                          {"SQUADBOX_CLUSTER_TLS_CERT_FILE", "cluster.tls_cert_file"},
                                          {"SQUADBOX_CLUSTER_TLS_KEY_FILE", "cluster.tls_key_file"},
                                          {"SQUADBOX_CLUSTER_TLS_CA_FILE", "cluster.tls_ca_file"}}) {
    auto c = load(write(kClusterBase), {{variable, ""}});
    ASSERT_FALSE(c) << variable;
    EXPECT_NE(c.error().message.find(needle), std::string::npos) << c.error().message;
  }
}

TEST_F(ConfigFile, ClusterAddressesNamesAndHeartbeatsAreChecked) {
  for (const char* bad : {"7400", "host:", ":7400", "host:0", "host:70000", "host:74x0"}) {
    auto c = load(write(kClusterBase), {{"SQUADBOX_CLUSTER_LISTEN", bad}});
    EXPECT_FALSE(c) << bad;
  }
  EXPECT_TRUE(load(write(kClusterBase), {{"SQUADBOX_CLUSTER_LISTEN", "[::1]:7400"}}));
  EXPECT_FALSE(load(write(kClusterBase), {{"SQUADBOX_CLUSTER_ADVERTISE", "nohost"}}));
  for (const std::string& bad : {std::string("Node"), std::string("-a"), std::string("a b"), std::string("a/b"),
                                 std::string("a.b"), std::string("b-"), std::string(64, 'a')}) {
    auto c = load(write(kClusterBase), {{"SQUADBOX_CLUSTER_NODE_NAME", bad}});
    EXPECT_FALSE(c) << bad;
  }
  auto tight = load(write(kClusterBase), {{"SQUADBOX_CLUSTER_HEARTBEAT_INTERVAL_MS", "2000"}});
  ASSERT_FALSE(tight);
  EXPECT_NE(tight.error().message.find("cluster.connection_timeout_ms"), std::string::npos);
  // Disabled: nothing of the section is required.
  EXPECT_TRUE(load(write("[cluster]\nenabled = false\n"), {}));
}

}  // namespace
