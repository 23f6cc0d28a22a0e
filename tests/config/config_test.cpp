#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/config/config.hpp"

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
  EXPECT_NE(c.error().message.find("admin.port: expected integer, got string"), std::string::npos)
      << c.error().message;
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
    std::string value = key.kind == sb::config::Kind::integer
                            ? std::to_string(std::stoll(key.default_text) + 1)
                            : "";
    if (key.kind == sb::config::Kind::string)  // a value each string key accepts
      value = key.choices.empty() ? "/tmp/x" : key.choices.back();
    auto c = load(std::nullopt, {{key.env_name(), value}});
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
  auto c = load(std::nullopt, {{"SQUADBOX_SUPERVISOR_BACKOFF_BASE_MS", "500"},
                               {"SQUADBOX_SUPERVISOR_BACKOFF_MAX_MS", "100"}});
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
