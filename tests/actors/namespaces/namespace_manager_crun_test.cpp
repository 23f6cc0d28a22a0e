// The NamespaceManager without containers (null services: messages queue, nothing
// starts), outbox idempotency with the real outbox and storage writer, and how serve
// builds a namespace's container run.
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/ipc/ipc_permissions.hpp"
#include "tests/actors/namespaces/namespace_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using sb::test::NamespaceFixture;

class NamespaceManager : public NamespaceFixture {};

TEST_F(NamespaceManager, QueuesWithoutServicesAndReportsStatus) {
  auto ns = make_namespace("alpha", {"slack:C1"});
  start_manager(nullptr);
  EXPECT_EQ(manager_status().detail, "namespaces 0, running 0/5, waiting 0");
  route(ns, slack_message("hello"));
  ASSERT_TRUE(
      sb::test::wait_until([&] { return manager_status().detail == "namespaces 1, running 0/5, waiting 0"; }, 10s))
      << manager_status().detail;
  EXPECT_EQ(manager_status().name, "namespaces");
  EXPECT_TRUE(outbox_rows().empty());
}

TEST_F(NamespaceManager, UnknownNamespaceIsDropped) {
  start_manager(nullptr);
  caf::anon_send(manager_, sb::actors::route_atom::value,
                 sb::actors::routed_message{"00000000-0000-4000-8000-000000000000", "ghost", slack_message("x")});
  ASSERT_TRUE(sb::test::wait_until(
      [&] { return metrics_.render().find("squadbox_namespace_unknown_total 1") != std::string::npos; }, 10s))
      << metrics_.render();
  EXPECT_EQ(manager_status().detail, "namespaces 0, running 0/5, waiting 0");
}

TEST_F(NamespaceManager, ReloadStopsTheActorOfADeletedNamespace) {
  auto main = make_namespace("alpha", {"slack:C1"});
  auto other = make_namespace("beta", {"slack:C2"});
  start_manager(nullptr);
  route(main, slack_message("a"));
  route(other, slack_message("b", "slack:C2"));
  ASSERT_TRUE(sb::test::wait_until([&] { return manager_status().detail.starts_with("namespaces 2,"); }, 10s));
  ASSERT_TRUE(store_->remove(other.id).ok());
  caf::anon_send(manager_, sb::actors::reload_atom::value);
  ASSERT_TRUE(sb::test::wait_until([&] { return manager_status().detail.starts_with("namespaces 1,"); }, 10s))
      << manager_status().detail;
}

TEST_F(NamespaceManager, OutboxIdempotencyKeyStoresOnceAndAnswersTheFirstIds) {
  auto outbox = sb::actors::lookup<sb::actors::outbox_actor>(system_, "outbox");
  ASSERT_TRUE(outbox);
  caf::scoped_actor self{system_};
  auto enqueue = [&](sb::actors::outbound_message m) {
    sb::actors::enqueue_result out;
    self->request(outbox, 10s, sb::actors::enqueue_atom::value, m)
        .receive([&](const sb::actors::enqueue_result& r) { out = r; },
                 [&](caf::error& e) { out.error = sb::make_error("test.request_failed", system_.render(e)); });
    return out;
  };
  // Two pieces (Telegram's 4096-character limit), one key.
  sb::actors::outbound_message m{"telegram/tgbot", "tg:42", std::string(5000, 'x'), "", "ns:7:0"};
  auto first = enqueue(m);
  ASSERT_TRUE(first.error.code.empty()) << first.error.message;
  ASSERT_EQ(first.outbox_ids.size(), 2u);
  auto again = enqueue(m);
  ASSERT_TRUE(again.error.code.empty()) << again.error.message;
  EXPECT_EQ(again.outbox_ids, first.outbox_ids);
  EXPECT_EQ(scalar("SELECT count(*) FROM outbox"), 2);
  EXPECT_EQ(text_of("SELECT idempotency_key FROM outbox ORDER BY id LIMIT 1"), "ns:7:0:0");
  // Another key, and no key at all (stored every time).
  m.idempotency_key = "ns:7:1";
  m.text = "short";
  auto other = enqueue(m);
  ASSERT_EQ(other.outbox_ids.size(), 1u);
  EXPECT_GT(other.outbox_ids[0], first.outbox_ids[1]);
  m.idempotency_key = "";
  EXPECT_EQ(enqueue(m).outbox_ids.size(), 1u);
  EXPECT_EQ(enqueue(m).outbox_ids.size(), 1u);
  EXPECT_EQ(scalar("SELECT count(*) FROM outbox"), 5);
  // A refused message stores nothing, key or not.
  m.idempotency_key = "ns:8:0";
  m.text = "";
  EXPECT_NE(enqueue(m).error.code, "");
  EXPECT_EQ(scalar("SELECT count(*) FROM outbox WHERE idempotency_key LIKE 'ns:8:%'"), 0);
}

TEST_F(NamespaceManager, RunOptionsFollowTheNamespaceAndTheNode) {
  ::setenv("SB_TEST_APPROVED", "yes", 1);
  ::setenv("SB_TEST_OTHER", "no", 1);
  auto main = make_namespace("alpha", {"slack:C1"});
  sb::namespaces::ContainerConfig cc;
  cc.image = "custom:1";
  cc.timeout_secs = 60;
  cc.idle_timeout_secs = 5;
  cc.env = {"SB_TEST_APPROVED"};
  cc.mounts = {{"/srv/data", "", true}, {"/srv/other", "notes", false}};
  auto other = make_namespace("beta", {"slack:C2"}, cc);
  sb::app::NamespaceRunContext ctx;
  ctx.config = config_;
  EXPECT_EQ(sb::app::build_namespace_run(ctx, {main.id, main.name, true, {}, "ns-alpha-1"}).error().code,
            "container.unavailable");
  use_containers();
  ctx.runtime = runtime_;
  ctx.install_id = "inst";
  auto a = sb::app::build_namespace_run(ctx, {main.id, main.name, true, {}, "ns-alpha-1"});
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->spec.image, config_.container.image);
  EXPECT_EQ(a->kind, sb::container::RunKind::squad);
  EXPECT_EQ(a->namespace_name, "alpha");
  EXPECT_TRUE(a->main_namespace);
  EXPECT_EQ(a->hard_timeout, std::chrono::milliseconds(config_.container.timeout_ms));
  EXPECT_EQ(a->mounts.workspace, sb::namespaces::workspace_dir(config_.node.data_dir, "alpha"));
  EXPECT_TRUE(a->mounts.workspace_read_write);
  EXPECT_EQ(a->mounts.session_dir, sb::namespaces::session_dir(config_.node.data_dir, "alpha"));
  EXPECT_NE(a->spec.uid, 0u);
  EXPECT_EQ(a->spec.env.count("SB_TEST_APPROVED"), 0u);
  // beta's workspace belongs to an operator (4242): kept, and idmapped, not adopted.
  const auto beta_ws = sb::namespaces::workspace_dir(config_.node.data_dir, "beta");
  std::filesystem::create_directories(beta_ws);
  ASSERT_EQ(::chown(beta_ws.c_str(), 4242, 4242), 0);
  auto b = sb::app::build_namespace_run(ctx, {other.id, other.name, false, cc, "ns-beta-1"});
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->spec.image, "custom:1");
  EXPECT_EQ(b->hard_timeout, 60s);
  EXPECT_EQ(b->idle_timeout, 5s);
  EXPECT_FALSE(b->main_namespace);
  EXPECT_FALSE(b->mounts.workspace_read_write) << "only the main namespace writes its workspace";
  EXPECT_EQ(b->spec.env.at("SB_TEST_APPROVED"), "yes");
  EXPECT_EQ(b->spec.env.count("SB_TEST_OTHER"), 0u);
  ASSERT_EQ(b->mounts.extras.size(), 2u);
  EXPECT_EQ(b->mounts.extras[0].name, "data");
  EXPECT_FALSE(b->mounts.extras[0].read_write);
  EXPECT_EQ(b->mounts.extras[1].name, "notes");
  EXPECT_TRUE(b->mounts.extras[1].read_write);
  // Each namespace runs as nobody in a user namespace of its own host id range: never
  // host root, never the same host uid as another namespace (audit H3).
  ASSERT_TRUE(a->spec.user_namespace && b->spec.user_namespace);
  EXPECT_EQ(a->spec.uid, 65534u);
  EXPECT_NE(a->spec.user_namespace->host_base, 0u);
  EXPECT_GE(a->spec.user_namespace->host_base, static_cast<uint32_t>(config_.container.userns_base));
  EXPECT_NE(a->spec.host_uid(), b->spec.host_uid());
  const auto& ra = *a->spec.user_namespace;
  const auto& rb = *b->spec.user_namespace;
  EXPECT_TRUE(ra.host_base + ra.size <= rb.host_base || rb.host_base + rb.size <= ra.host_base);
  // The root-owned workspace and the session were handed to those host ids.
  struct stat ws {};
  ASSERT_EQ(::stat(a->mounts.workspace.c_str(), &ws), 0);
  EXPECT_EQ(ws.st_uid, a->spec.host_uid());
  EXPECT_FALSE(a->mounts.workspace_owner);
  EXPECT_EQ(b->spec.uid, 65534u);
  ASSERT_TRUE(b->mounts.workspace_owner);
  EXPECT_EQ(*b->mounts.workspace_owner, (sb::container::HostOwner{4242, 4242}));
  struct stat bws {};
  ASSERT_EQ(::stat(beta_ws.c_str(), &bws), 0);
  EXPECT_EQ(bws.st_uid, 4242u);
  struct stat session {};
  ASSERT_EQ(::stat(a->mounts.session_dir.c_str(), &session), 0);
  EXPECT_EQ(session.st_uid, a->spec.host_uid());
  // IPC ownership comes from the mappings.
  ASSERT_TRUE(b->ownership);
  EXPECT_EQ(b->ownership->chat_owner("slack:C1").value_or(""), "alpha");
  EXPECT_EQ(b->ownership->chat_owner("slack:C2").value_or(""), "beta");
  EXPECT_FALSE(b->ownership->chat_owner("slack:C3").has_value());
  EXPECT_EQ(b->ownership->chat_owner("local:beta").value_or(""), "beta");
}

// The agent's variables: the namespace's settings over the node's; its instructions in
// the session (read at each start: a change applies from the next container).
TEST_F(NamespaceManager, TheAgentGetsTheNamespacesSettingsAndInstructions) {
  config_.container.llm_model = "node-model";
  config_.container.agent_tools = "read_file,bash";
  auto ns = make_namespace("alpha", {});
  use_containers();
  sb::app::NamespaceRunContext ctx;
  ctx.config = config_;
  ctx.runtime = runtime_;
  auto build = [&](const std::string& run_id) {
    return sb::app::build_namespace_run(ctx, {ns.id, ns.name, true, {}, run_id});
  };
  auto plain = build("ns-alpha-1");
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->spec.env.at("SQUADBOX_LLM_MODEL"), "node-model");
  EXPECT_EQ(plain->spec.env.at("SQUADBOX_AGENT_TOOLS"), "read_file,bash");
  EXPECT_EQ(plain->spec.env.at("SQUADBOX_LLM_MAX_STEPS"), "20");
  EXPECT_EQ(plain->spec.env.count("SQUADBOX_LLM_INSTRUCTIONS_FILE"), 0u);

  sb::namespaces::NamespacePatch p;
  sb::namespaces::AgentPatch a;
  a.mode = std::optional<sb::namespaces::AgentMode>(sb::namespaces::AgentMode::llm);
  a.route = std::optional<std::string>("local");
  a.protocol = std::optional<sb::namespaces::LlmProtocol>(sb::namespaces::LlmProtocol::openai);
  a.model = std::optional<std::string>("qwen2.5");
  a.max_steps = std::optional<int64_t>(7);
  a.tools = std::optional<std::vector<std::string>>();  // null: the node's
  a.instructions = "Answer in German.\n";
  p.agent = a;
  ASSERT_TRUE(store_->update(ns.id, p).ok());
  auto run = build("ns-alpha-2");
  ASSERT_TRUE(run.ok()) << run.error().message;
  const auto& env = run->spec.env;
  EXPECT_EQ(env.at("SQUADBOX_AGENT_MODE"), "llm");
  EXPECT_EQ(env.at("SQUADBOX_LLM_ROUTE"), "local");
  EXPECT_EQ(env.at("SQUADBOX_LLM_PROTOCOL"), "openai");
  EXPECT_EQ(env.at("SQUADBOX_LLM_MODEL"), "qwen2.5");
  EXPECT_EQ(env.at("SQUADBOX_LLM_MAX_STEPS"), "7");
  EXPECT_EQ(env.at("SQUADBOX_AGENT_TOOLS"), "read_file,bash");
  EXPECT_EQ(env.at("SQUADBOX_LLM_INSTRUCTIONS_FILE"), "/session/instructions.md");
  const std::string file = run->mounts.session_dir + "/instructions.md";
  std::ifstream in(file);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "Answer in German.\n");
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, run->spec.host_uid());

  // Cleared: the stale file goes; an instructionsFile in the workspace is used instead.
  sb::namespaces::NamespacePatch clear;
  sb::namespaces::AgentPatch c;
  c.instructions = "";
  clear.agent = c;
  clear.instructions_file = "AGENTS.md";
  ASSERT_TRUE(store_->update(ns.id, clear).ok());
  auto again = build("ns-alpha-3");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_EQ(again->spec.env.at("SQUADBOX_LLM_INSTRUCTIONS_FILE"), "/workspace/AGENTS.md");
}

TEST_F(NamespaceManager, ScheduledRunOptionsOverrideImageTimeoutSessionAndRestarts) {
  sb::namespaces::ContainerConfig cc;
  cc.image = "custom:1";
  cc.timeout_secs = 60;
  cc.idle_timeout_secs = 5;
  auto ns = make_namespace("alpha", {}, cc);
  use_containers();
  sb::app::NamespaceRunContext ctx;
  ctx.config = config_;
  ctx.runtime = runtime_;
  sb::actors::NamespaceRunRequest req;
  req.namespace_id = ns.id;
  req.namespace_name = ns.name;
  req.container = cc;
  req.run_id = "task-alpha-1";
  req.kind = sb::container::RunKind::scheduled;
  req.image = "task-image:2";
  req.isolated_session = true;
  req.hard_timeout = 0s;  // no limit
  auto run = sb::app::build_namespace_run(ctx, req);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->kind, sb::container::RunKind::scheduled);
  EXPECT_EQ(run->spec.image, "task-image:2");
  EXPECT_EQ(run->hard_timeout, 0ms);
  EXPECT_EQ(run->idle_timeout, 0ms);   // closed after its one turn instead
  EXPECT_EQ(run->restart.budget, 0u);  // a crash is the run's error
  const auto fresh = std::filesystem::path(config_.node.data_dir) / "runs" / "task-alpha-1" / "session";
  EXPECT_EQ(run->mounts.session_dir, fresh.string());
  EXPECT_TRUE(std::filesystem::is_directory(fresh));
  EXPECT_EQ(run->mounts.workspace, sb::namespaces::workspace_dir(config_.node.data_dir, "alpha"));
  // "group" context, the namespace's image and timeouts: the squad defaults but no restarts.
  req.image.clear();
  req.isolated_session = false;
  req.hard_timeout.reset();
  auto group = sb::app::build_namespace_run(ctx, req);
  ASSERT_TRUE(group.ok()) << group.error().message;
  EXPECT_EQ(group->spec.image, "custom:1");
  EXPECT_EQ(group->hard_timeout, 60s);
  EXPECT_EQ(group->mounts.session_dir, sb::namespaces::session_dir(config_.node.data_dir, "alpha"));
}

}  // namespace
