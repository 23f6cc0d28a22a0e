// build_oci_config is pure: every security-relevant field of config.json is asserted.
#include "runtime/container/oci/oci_config.hpp"

#include <algorithm>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace sb::container::oci {
namespace {

rapidjson::Document build(const ContainerSpec& spec, ImageDefaults image = {}) {
  OciConfigInput in;
  in.spec = &spec;
  in.rootfs = "/images/a/latest/rootfs";
  in.image = std::move(image);
  in.cgroups_path = "/squadbox/sb-1";
  auto json = build_oci_config(in);
  EXPECT_TRUE(json.ok()) << (json.ok() ? "" : json.error().message);
  rapidjson::Document d;
  d.Parse(json.ok() ? json->c_str() : "{}");
  EXPECT_FALSE(d.HasParseError());
  return d;
}

ContainerSpec base_spec() {
  ContainerSpec s;
  s.name = "team/alpha:main";
  s.image = "squadbox-agent:latest";
  s.command = {"/bin/sh", "-c", "true"};
  s.env = {{"FOO", "bar"}};
  s.labels = {{"io.squadbox.run", "r1"}};
  s.limits = {16ll << 20, 32, 500};
  return s;
}

std::vector<std::string> strings(const rapidjson::Value& a) {
  std::vector<std::string> out;
  for (const auto& v : a.GetArray()) out.emplace_back(v.GetString());
  return out;
}

const rapidjson::Value* mount_at(const rapidjson::Document& d, const std::string& dest) {
  for (const auto& m : d["mounts"].GetArray())
    if (dest == m["destination"].GetString()) return &m;
  return nullptr;
}

TEST(OciConfig, ProcessIsUnprivileged) {
  auto d = build(base_spec());
  const auto& p = d["process"];
  EXPECT_EQ(p["user"]["uid"].GetUint(), 65534u);
  EXPECT_EQ(p["user"]["gid"].GetUint(), 65534u);
  EXPECT_TRUE(p["noNewPrivileges"].GetBool());
  EXPECT_FALSE(p["terminal"].GetBool());
  for (const char* set : {"bounding", "effective", "inheritable", "permitted", "ambient"})
    EXPECT_TRUE(p["capabilities"][set].Empty()) << set;
  EXPECT_EQ(strings(p["args"]), (std::vector<std::string>{"/bin/sh", "-c", "true"}));
  EXPECT_STREQ(p["cwd"].GetString(), "/workspace");
}

TEST(OciConfig, EnvIsExactlySpecPlusPath) {
  auto d = build(base_spec(), {{}, {}, {"PATH=/opt/bin", "IMAGE_VAR=x"}, ""});
  EXPECT_EQ(strings(d["process"]["env"]), (std::vector<std::string>{"PATH=/opt/bin", "FOO=bar"}));
  auto spec = base_spec();
  spec.env["PATH"] = "/mine";
  auto d2 = build(spec);
  EXPECT_EQ(strings(d2["process"]["env"]), (std::vector<std::string>{"FOO=bar", "PATH=/mine"}));
  auto d3 = build(base_spec());
  EXPECT_EQ(strings(d3["process"]["env"])[0], std::string("PATH=") + kDefaultPath);
}

TEST(OciConfig, RootReadOnlyAndTmpfs) {
  auto d = build(base_spec());
  EXPECT_TRUE(d["root"]["readonly"].GetBool());
  EXPECT_STREQ(d["root"]["path"].GetString(), "/images/a/latest/rootfs");
  auto* tmp = mount_at(d, "/tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_STREQ((*tmp)["type"].GetString(), "tmpfs");
  EXPECT_EQ(strings((*tmp)["options"]), (std::vector<std::string>{"nosuid", "nodev", "mode=1777", "size=64m"}));
  for (const char* m : {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"})
    EXPECT_NE(mount_at(d, m), nullptr) << m;
  auto sys = strings((*mount_at(d, "/sys"))["options"]);
  EXPECT_NE(std::find(sys.begin(), sys.end(), "ro"), sys.end());
}

TEST(OciConfig, NamespacesIncludeEmptyNetwork) {
  auto d = build(base_spec());
  std::vector<std::string> types;
  for (const auto& ns : d["linux"]["namespaces"].GetArray()) {
    types.emplace_back(ns["type"].GetString());
    EXPECT_FALSE(ns.HasMember("path")) << "joining an existing namespace: " << types.back();
  }
  for (const char* t : {"pid", "network", "ipc", "uts", "mount"})
    EXPECT_NE(std::find(types.begin(), types.end(), t), types.end()) << t;
}

TEST(OciConfig, ResourceLimits) {
  auto d = build(base_spec());
  const auto& r = d["linux"]["resources"];
  EXPECT_EQ(r["memory"]["limit"].GetInt64(), 16ll << 20);
  EXPECT_EQ(r["memory"]["swap"].GetInt64(), 16ll << 20);
  EXPECT_EQ(r["pids"]["limit"].GetInt64(), 32);
  EXPECT_EQ(r["cpu"]["quota"].GetInt64(), 50000);
  EXPECT_EQ(r["cpu"]["period"].GetUint64(), 100000u);
  EXPECT_STREQ(d["linux"]["cgroupsPath"].GetString(), "/squadbox/sb-1");

  auto spec = base_spec();
  spec.limits = {0, 0, 0};
  auto u = build(spec);
  EXPECT_FALSE(u["linux"]["resources"].HasMember("memory"));
  EXPECT_FALSE(u["linux"]["resources"].HasMember("pids"));
  EXPECT_FALSE(u["linux"]["resources"].HasMember("cpu"));
}

TEST(OciConfig, MaskedPathsAnnotationsHostname) {
  auto d = build(base_spec());
  auto masked = strings(d["linux"]["maskedPaths"]);
  EXPECT_NE(std::find(masked.begin(), masked.end(), "/proc/kcore"), masked.end());
  auto ro = strings(d["linux"]["readonlyPaths"]);
  EXPECT_NE(std::find(ro.begin(), ro.end(), "/proc/sys"), ro.end());
  EXPECT_STREQ(d["annotations"]["io.squadbox.run"].GetString(), "r1");
  EXPECT_STREQ(d["hostname"].GetString(), "alpha-main");
  EXPECT_EQ(hostname_for("---"), "squadbox");
  EXPECT_EQ(hostname_for(std::string(100, 'a')).size(), 63u);
}

TEST(OciConfig, ImageEntrypointWhenNoCommand) {
  auto spec = base_spec();
  spec.command.clear();
  auto d = build(spec, {{"/usr/local/bin/squadbox-agent"}, {"--serve"}, {}, "/w"});
  EXPECT_EQ(strings(d["process"]["args"]), (std::vector<std::string>{"/usr/local/bin/squadbox-agent", "--serve"}));
  OciConfigInput in;
  in.spec = &spec;
  auto none = build_oci_config(in);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "container.no_command");
}

TEST(OciConfig, RefusesRoot) {
  auto spec = base_spec();
  spec.uid = 0;
  OciConfigInput in;
  in.spec = &spec;
  auto r = build_oci_config(in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "container.root_uid");
  spec.uid = 1000;
  spec.gid = 0;
  EXPECT_FALSE(build_oci_config(in).ok());
}

}  // namespace
}  // namespace sb::container::oci
