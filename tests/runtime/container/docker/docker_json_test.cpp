// Pure mapping between ContainerSpec and the Docker Engine API's JSON.
#include "runtime/container/docker/docker_json.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace sb::container::docker {
namespace {

rapidjson::Document json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  EXPECT_FALSE(d.HasParseError()) << text;
  return d;
}

ContainerSpec sample_spec() {
  ContainerSpec spec;
  spec.name = "sb-run-1";
  spec.image = "squadbox-test:busybox";
  spec.command = {"sh", "-c", "echo \"hi\"; exit 7"};
  spec.env = {{"A", "1"}, {"B", "x=y"}};
  spec.labels = {{kLabelInstall, "inst"}, {kLabelRun, "r1"}};
  spec.uid = 1000;
  spec.gid = 1001;
  spec.workdir = "/workspace";
  spec.limits = {256ll << 20, 64, 1500};
  return spec;
}

// Docker has no per-container user namespace: a namespace's container runs directly as
// the host uid its range gives nobody (distinct per namespace, never root, never the
// operator's), and Docker's default seccomp profile stays on (no seccomp=unconfined).
TEST(DockerJson, NamespaceRangeBecomesTheHostUserAndSeccompStaysDefault) {
  auto spec = sample_spec();
  spec.uid = 65534;
  spec.gid = 65534;
  spec.user_namespace = IdRange{200000 + 65536, 65536};
  const auto d = json(create_body(spec));
  EXPECT_STREQ(d["User"].GetString(), "331070:331070");
  spec.user_namespace = IdRange{200000 + 2 * 65536, 65536};
  EXPECT_STREQ(json(create_body(spec))["User"].GetString(), "396606:396606");
  for (const auto& opt : d["HostConfig"]["SecurityOpt"].GetArray())
    EXPECT_EQ(std::string(opt.GetString()).find("seccomp"), std::string::npos) << opt.GetString();
}

TEST(DockerJson, CreateBodyMapsEveryField) {
  const auto d = json(create_body(sample_spec()));
  EXPECT_STREQ(d["Image"].GetString(), "squadbox-test:busybox");
  ASSERT_EQ(d["Cmd"].Size(), 3u);
  EXPECT_STREQ(d["Cmd"][2].GetString(), "echo \"hi\"; exit 7");
  ASSERT_EQ(d["Env"].Size(), 2u);
  EXPECT_STREQ(d["Env"][0].GetString(), "A=1");
  EXPECT_STREQ(d["Env"][1].GetString(), "B=x=y");
  EXPECT_STREQ(d["Labels"]["io.squadbox.install"].GetString(), "inst");
  EXPECT_STREQ(d["Labels"]["io.squadbox.run"].GetString(), "r1");
  EXPECT_STREQ(d["User"].GetString(), "1000:1001");
  EXPECT_STREQ(d["WorkingDir"].GetString(), "/workspace");
  EXPECT_TRUE(d["NetworkDisabled"].GetBool());
  EXPECT_FALSE(d["Tty"].GetBool());

  const auto& h = d["HostConfig"];
  EXPECT_STREQ(h["NetworkMode"].GetString(), "none");
  EXPECT_TRUE(h["ReadonlyRootfs"].GetBool());
  EXPECT_STREQ(h["Tmpfs"]["/tmp"].GetString(), "rw,nosuid,nodev,size=64m,mode=1777");
  ASSERT_EQ(h["CapDrop"].Size(), 1u);
  EXPECT_STREQ(h["CapDrop"][0].GetString(), "ALL");
  ASSERT_EQ(h["SecurityOpt"].Size(), 1u);
  EXPECT_STREQ(h["SecurityOpt"][0].GetString(), "no-new-privileges");
  EXPECT_EQ(h["Binds"].Size(), 0u);
  EXPECT_EQ(h["Memory"].GetInt64(), 256ll << 20);
  EXPECT_EQ(h["MemorySwap"].GetInt64(), 256ll << 20);
  EXPECT_EQ(h["PidsLimit"].GetInt64(), 64);
  EXPECT_EQ(h["NanoCpus"].GetInt64(), 1'500'000'000);
  EXPECT_FALSE(h["AutoRemove"].GetBool());
  EXPECT_FALSE(h["Init"].GetBool());
  EXPECT_FALSE(h.HasMember("Privileged"));
  EXPECT_FALSE(h.HasMember("CapAdd"));
}

TEST(DockerJson, CreateBodyEnvIsExactlyTheSpecsEnv) {
  ContainerSpec spec = sample_spec();
  spec.env.clear();
  const auto d = json(create_body(spec));
  ASSERT_TRUE(d["Env"].IsArray());
  EXPECT_EQ(d["Env"].Size(), 0u);  // an empty list, not absent: nothing else is added
}

TEST(DockerJson, CreateBodyOmitsUnlimitedAndDefaults) {
  ContainerSpec spec = sample_spec();
  spec.command.clear();
  spec.workdir.clear();
  spec.limits = {0, 0, 0};
  const auto d = json(create_body(spec));
  EXPECT_FALSE(d.HasMember("Cmd"));  // the image's own command
  EXPECT_FALSE(d.HasMember("WorkingDir"));
  const auto& h = d["HostConfig"];
  EXPECT_FALSE(h.HasMember("Memory"));
  EXPECT_FALSE(h.HasMember("MemorySwap"));
  EXPECT_FALSE(h.HasMember("PidsLimit"));
  EXPECT_FALSE(h.HasMember("NanoCpus"));
}

TEST(DockerJson, CreateBodyEscapesStrings) {
  ContainerSpec spec = sample_spec();
  spec.env = {{"Q", "a\"b\\c\nd\x01"}};
  spec.labels = {{"k\"", "v\n"}};
  const auto d = json(create_body(spec));
  EXPECT_STREQ(d["Env"][0].GetString(), "Q=a\"b\\c\nd\x01");
  EXPECT_STREQ(d["Labels"]["k\""].GetString(), "v\n");
}

TEST(DockerJson, BindsAreHostContainerMode) {
  const std::vector<Mount> mounts = {{"/srv/ws", "/workspace", true}, {"/srv/x", "/workspace/extra/x", false}};
  EXPECT_EQ(binds(mounts), (std::vector<std::string>{"/srv/ws:/workspace:rw", "/srv/x:/workspace/extra/x:ro"}));
  EXPECT_TRUE(binds({}).empty());
}

TEST(DockerJson, ApiVersionParsingIsNumeric) {
  int ma = 0, mi = 0;
  EXPECT_TRUE(parse_api_version("1.45", ma, mi));
  EXPECT_EQ(ma, 1);
  EXPECT_EQ(mi, 45);
  for (const char* bad : {"", "1", "1.", ".4", "1.x", "a.b", "1.45.2", "1.45 "}) {
    EXPECT_FALSE(parse_api_version(bad, ma, mi)) << bad;
  }
  EXPECT_LT(compare_api_versions("1.9", "1.10"), 0);
  EXPECT_GT(compare_api_versions("2.0", "1.45"), 0);
  EXPECT_EQ(compare_api_versions("1.43", "1.43"), 0);
}

TEST(DockerJson, NegotiationPicksMinOfServerAndOurs) {
  EXPECT_EQ(*negotiate_api_version("1.45", "1.24"), "1.45");
  EXPECT_EQ(*negotiate_api_version("1.47", "1.24"), "1.45");  // Docker 27: we speak 1.45
  EXPECT_EQ(*negotiate_api_version("1.44", "1.12"), "1.44");
  EXPECT_EQ(*negotiate_api_version("1.43", ""), "1.43");  // Docker 24 exactly
  // Podman reports Docker 20.10's level; it is accepted there, Docker itself is not.
  EXPECT_EQ(*negotiate_api_version("1.41", "1.24", true), "1.41");
  EXPECT_EQ(negotiate_api_version("1.41", "1.24", false).error().code, "docker.too_old");
  EXPECT_EQ(negotiate_api_version("1.39", "1.24", true).error().code, "docker.too_old");
}

TEST(DockerJson, NegotiationRejectsTooOldWithBothVersions) {
  for (const char* old : {"1.41", "1.42", "1.9"}) {
    auto r = negotiate_api_version(old, "1.12");
    ASSERT_FALSE(r) << old;
    EXPECT_EQ(r.error().code, "docker.too_old");
    EXPECT_NE(r.error().message.find(old), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("1.43"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("Docker 24"), std::string::npos) << r.error().message;
  }
}

TEST(DockerJson, NegotiationRejectsGarbageAndTooNew) {
  EXPECT_EQ(negotiate_api_version("", "").error().code, "docker.bad_version");
  EXPECT_EQ(negotiate_api_version("v1.45", "").error().code, "docker.bad_version");
  EXPECT_EQ(negotiate_api_version("1.50", "1.46").error().code, "docker.too_new");
}

TEST(DockerJson, ParsesVersion) {
  auto v = parse_version(R"({"Version":"26.1.5+dfsg1","ApiVersion":"1.45","MinAPIVersion":"1.24","Os":"linux"})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->version, "26.1.5+dfsg1");
  EXPECT_EQ(v->api_version, "1.45");
  EXPECT_EQ(v->min_api_version, "1.24");
  EXPECT_FALSE(v->podman);
  auto p = parse_version(
      R"({"Components":[{"Name":"Podman Engine","Version":"4.3.1"}],"Version":"4.3.1","ApiVersion":"1.41","MinAPIVersion":"1.24"})");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->podman);
  EXPECT_EQ(parse_version("{}").error().code, "docker.bad_response");
  EXPECT_EQ(parse_version("<html>").error().code, "docker.bad_response");
}

TEST(DockerJson, ParsesInspectExited) {
  auto info = parse_inspect(R"({"Id":"abc","Name":"/sb-1","State":{"Status":"exited","Running":false,
    "OOMKilled":true,"Pid":0,"ExitCode":137},"Config":{"Labels":{"io.squadbox.run":"r1"}}})");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->id, "abc");
  EXPECT_EQ(info->name, "sb-1");
  EXPECT_EQ(info->state, ContainerState::exited);
  ASSERT_TRUE(info->exit);
  EXPECT_EQ(info->exit->exit_code, 137);
  EXPECT_TRUE(info->exit->oom_killed);
  EXPECT_EQ(info->exit->signal, 9);
  EXPECT_EQ(info->labels.at("io.squadbox.run"), "r1");
}

TEST(DockerJson, ParsesInspectRunningAndNullLabels) {
  auto info = parse_inspect(R"({"Id":"abc","Name":"/n","State":{"Status":"running","Pid":4242,"ExitCode":0,
    "OOMKilled":false},"Config":{"Labels":null}})");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, ContainerState::running);
  EXPECT_EQ(info->pid, 4242);
  EXPECT_FALSE(info->exit);
  EXPECT_TRUE(info->labels.empty());
  EXPECT_EQ(parse_inspect(R"({"Id":"x"})").error().code, "docker.bad_response");
  EXPECT_EQ(parse_inspect("[]").error().code, "docker.bad_response");
}

TEST(DockerJson, ParsesList) {
  auto list = parse_list(R"([
    {"Id":"a1","Names":["/one"],"State":"exited","Status":"Exited (7) 2 seconds ago","Labels":{"k":"v"}},
    {"Id":"b2","Names":["/two"],"State":"running","Status":"Up 1 second","Labels":{}},
    {"Id":"c3","Names":[],"State":"created","Status":"Created","Labels":null}])");
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "one");
  EXPECT_EQ((*list)[0].state, ContainerState::exited);
  ASSERT_TRUE((*list)[0].exit);
  EXPECT_EQ((*list)[0].exit->exit_code, 7);
  EXPECT_EQ((*list)[0].labels.at("k"), "v");
  EXPECT_EQ((*list)[1].state, ContainerState::running);
  EXPECT_EQ((*list)[2].state, ContainerState::created);
  EXPECT_EQ((*list)[2].name, "");
  EXPECT_TRUE(parse_list("[]")->empty());
  EXPECT_EQ(parse_list("{}").error().code, "docker.bad_response");
}

TEST(DockerJson, ParsesWait) {
  EXPECT_EQ(*parse_wait(R"({"StatusCode":7,"Error":null})"), 7);
  EXPECT_EQ(*parse_wait(R"({"StatusCode":0})"), 0);
  auto failed = parse_wait(R"({"StatusCode":-1,"Error":{"Message":"boom"}})");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, "docker.wait_failed");
  EXPECT_EQ(failed.error().message, "boom");
  EXPECT_EQ(parse_wait("{}").error().code, "docker.bad_response");
}

TEST(DockerJson, ExitStatusFromCode) {
  EXPECT_EQ(exit_status(0, false).signal, 0);
  EXPECT_EQ(exit_status(7, false).signal, 0);
  EXPECT_EQ(exit_status(128, false).signal, 0);
  EXPECT_EQ(exit_status(137, false).signal, 9);
  EXPECT_EQ(exit_status(143, false).signal, 15);
  EXPECT_EQ(exit_status(255, false).signal, 0);
  EXPECT_TRUE(exit_status(137, true).oom_killed);
}

TEST(DockerJson, ErrorMessages) {
  EXPECT_EQ(error_message(R"({"message":"No such container: x"})"), "No such container: x");
  EXPECT_EQ(error_message("plain text\n"), "plain text");
  EXPECT_EQ(error_message(""), "(no message)");
  EXPECT_EQ(error_message(std::string(1000, 'x')).size(), 300u);
}

TEST(DockerJson, LabelFilterAndUrlEncoding) {
  EXPECT_EQ(label_filter({{"a", "1"}, {"io.squadbox.run", "r 2"}}), R"({"label":["a=1","io.squadbox.run=r 2"]})");
  EXPECT_EQ(url_encode(R"({"label":["a=1"]})"), "%7B%22label%22%3A%5B%22a%3D1%22%5D%7D");
  EXPECT_EQ(url_encode("Az09-._~ /?&"), "Az09-._~%20%2F%3F%26");
}

TEST(DockerJson, SignalNames) {
  EXPECT_EQ(signal_name(15), "SIGTERM");
  EXPECT_EQ(signal_name(9), "SIGKILL");
  EXPECT_EQ(signal_name(1), "SIGHUP");
  EXPECT_EQ(signal_name(34), "34");
}

}  // namespace
}  // namespace sb::container::docker
