// The file tools on a temp workspace (no container): every tool refuses `../x`,
// `/etc/passwd` and a symlink leading out, and works on normal paths (relative,
// absolute inside, the session dir); edit_file's unique/missing/multiple rule;
// read_file's binary refusal and offset/limit; list_files' patterns; a read-only
// workspace (a real read-only bind mount in a private mount namespace) and the errno
// mapping.
#include "runtime/agent/tools/file_tools.hpp"

#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/agent/tools/ipc_tools.hpp"
#include "runtime/agent/tools/list_files.hpp"
#include "runtime/agent/tools/tool_dispatch.hpp"
#include "runtime/agent/tools/workspace_path.hpp"
#include "runtime/ipc/ipc_fs.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace sb::agent;
namespace fs = std::filesystem;

std::string tool_file_text(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void put_tool_file(const std::string& p, const std::string& content) {
  std::ofstream(p, std::ios::binary) << content;
}

struct FileToolsFixture : ::testing::Test {
  sb::test::TempDir tmp{"sb-files"};
  ToolContext ctx;
  std::string ws, session, outside;
  void SetUp() override {
    ws = tmp.path() + "/workspace";
    session = tmp.path() + "/session";
    outside = tmp.path() + "/outside";
    for (const auto& d : {ws, session, outside, ws + "/sub", ws + "/ipc/messages"}) fs::create_directories(d);
    put_tool_file(outside + "/secret", "top secret\n");
    fs::create_symlink(outside + "/secret", ws + "/link-out");
    fs::create_symlink("../outside", ws + "/dir-out");
    fs::create_symlink("sub/inner.txt", ws + "/link-in");
    put_tool_file(ws + "/sub/inner.txt", "inner\n");
    ctx.workspace = ws;
    ctx.session_dir = session;
    ctx.ipc_dir = ws + "/ipc";
  }
};

TEST(WorkspacePath, ResolvesIntoTheTwoRootsOnly) {
  EXPECT_EQ(*resolve_tool_path("a/b", "/workspace", "/session"), (ToolPath{"/workspace", "a/b"}));
  EXPECT_EQ(*resolve_tool_path("/workspace/a", "/workspace", "/session"), (ToolPath{"/workspace", "a"}));
  EXPECT_EQ(*resolve_tool_path("/workspace", "/workspace/", "/session"), (ToolPath{"/workspace/", "."}));
  EXPECT_EQ(*resolve_tool_path("/session/memory.md", "/workspace", "/session"), (ToolPath{"/session", "memory.md"}));
  EXPECT_EQ(resolve_tool_path("/workspace2/x", "/workspace", "/session").error().code, "tool.bad_path");
  EXPECT_EQ(resolve_tool_path("/etc/passwd", "/workspace", "/session").error().code, "tool.bad_path");
  EXPECT_EQ(resolve_tool_path("", "/workspace", "/session").error().code, "tool.bad_path");
  EXPECT_EQ(resolve_tool_path(std::string("a\0b", 3), "/workspace", "/session").error().code, "tool.bad_path");
}

TEST(WorkspacePath, ErrnoMessages) {
  EXPECT_EQ(fs_error_text(EROFS, "a.txt"), "the workspace is read-only for this group (a.txt)");
  EXPECT_NE(fs_error_text(EXDEV, "../x").find("leads outside the workspace"), std::string::npos);
  EXPECT_NE(fs_error_text(ENOENT, "x").find("does not exist"), std::string::npos);
  EXPECT_NE(fs_error_text(ENOSYS, "x").find("openat2"), std::string::npos);
}

TEST_F(FileToolsFixture, EveryFileToolRefusesEscapes) {
  for (const std::string bad :
       {"../outside/secret", "/etc/passwd", "link-out", "dir-out/secret", "sub/../../outside/secret"}) {
    auto r = read_file_tool(ctx, bad, std::nullopt, std::nullopt);
    EXPECT_TRUE(r.is_error) << bad << ": " << r.content;
    EXPECT_EQ(r.content.find("top secret"), std::string::npos) << bad;
    EXPECT_TRUE(write_file_tool(ctx, bad, "pwned").is_error) << bad;
    EXPECT_TRUE(edit_file_tool(ctx, bad, "top", "pwned").is_error) << bad;
  }
  EXPECT_EQ(tool_file_text(outside + "/secret"), "top secret\n");
  EXPECT_FALSE(fs::exists(outside + "/pwned"));
  // write_file through a directory link that leads out is refused; the link itself is not followed.
  EXPECT_TRUE(write_file_tool(ctx, "dir-out/new", "x").is_error);
  EXPECT_FALSE(fs::exists(outside + "/new"));
  auto listed = list_files_tool(ctx, std::string("**"));
  EXPECT_EQ(listed.content.find("secret"), std::string::npos) << listed.content;  // links are not followed
  EXPECT_NE(listed.content.find("dir-out\n"), std::string::npos) << listed.content;
  EXPECT_TRUE(list_files_tool(ctx, std::string("../*")).is_error);
  EXPECT_TRUE(list_files_tool(ctx, std::string("/etc/*")).is_error);
}

TEST_F(FileToolsFixture, NormalPathsWork) {
  auto w = write_file_tool(ctx, "notes.txt", "one\ntwo\n");
  EXPECT_FALSE(w.is_error) << w.content;
  EXPECT_EQ(tool_file_text(ws + "/notes.txt"), "one\ntwo\n");
  EXPECT_EQ(fs::status(ws + "/notes.txt").permissions() & fs::perms::all, fs::perms(0644));
  ::chmod((ws + "/notes.txt").c_str(), 0600);
  EXPECT_FALSE(write_file_tool(ctx, ws + "/notes.txt", "three\n").is_error);  // absolute, inside
  EXPECT_EQ(tool_file_text(ws + "/notes.txt"), "three\n");
  EXPECT_EQ(fs::status(ws + "/notes.txt").permissions() & fs::perms::all, fs::perms(0600));  // mode kept
  EXPECT_FALSE(write_file_tool(ctx, session + "/memory.md", "remember\n").is_error);
  EXPECT_EQ(tool_file_text(session + "/memory.md"), "remember\n");
  EXPECT_EQ(read_file_tool(ctx, "link-in", std::nullopt, std::nullopt).content, "inner\n");  // a link inside is fine
  auto no_parent = write_file_tool(ctx, "nodir/x.txt", "x");
  EXPECT_TRUE(no_parent.is_error);
  EXPECT_NE(no_parent.content.find("parent directory"), std::string::npos) << no_parent.content;
  EXPECT_TRUE(write_file_tool(ctx, "sub", "x").is_error);  // a directory
  for (const auto& e : fs::directory_iterator(ws))         // no tmp files left behind
    EXPECT_EQ(e.path().filename().string().find(".sbtmp"), std::string::npos);
}

TEST_F(FileToolsFixture, EditFileNeedsExactlyOneOccurrence) {
  put_tool_file(ws + "/e.txt", "alpha beta alpha\ngamma\n");
  auto missing = edit_file_tool(ctx, "e.txt", "delta", "x");
  EXPECT_TRUE(missing.is_error);
  EXPECT_NE(missing.content.find("not found"), std::string::npos);
  auto many = edit_file_tool(ctx, "e.txt", "alpha", "x");
  EXPECT_TRUE(many.is_error);
  EXPECT_NE(many.content.find("appears 2 times; give more context"), std::string::npos) << many.content;
  EXPECT_EQ(tool_file_text(ws + "/e.txt"), "alpha beta alpha\ngamma\n");
  auto ok = edit_file_tool(ctx, "e.txt", "beta alpha", "BETA");
  EXPECT_FALSE(ok.is_error) << ok.content;
  EXPECT_EQ(tool_file_text(ws + "/e.txt"), "alpha BETA\ngamma\n");
  EXPECT_EQ(*apply_edit("aaa", "aa", "b", "f"), "ba");  // occurrences do not overlap
  EXPECT_EQ(apply_edit("abab", "ab", "", "f").error().code, "tool.edit_ambiguous");
}

TEST_F(FileToolsFixture, ReadFileLinesAndBinary) {
  std::string content;
  for (int i = 1; i <= 10; ++i) content += "line " + std::to_string(i) + "\n";
  put_tool_file(ws + "/ten.txt", content);
  EXPECT_EQ(read_file_tool(ctx, "ten.txt", std::nullopt, std::nullopt).content, content);
  auto mid = read_file_tool(ctx, "ten.txt", 4, 2);
  EXPECT_EQ(mid.content, "line 4\nline 5\n[... lines 4-5 of 10 shown; continue with offset=6]");
  EXPECT_TRUE(read_file_tool(ctx, "ten.txt", 11, std::nullopt).is_error);
  put_tool_file(ws + "/bin", std::string("ELF\0\1\2", 6));
  auto bin = read_file_tool(ctx, "bin", std::nullopt, std::nullopt);
  EXPECT_TRUE(bin.is_error);
  EXPECT_NE(bin.content.find("binary"), std::string::npos);
  EXPECT_TRUE(read_file_tool(ctx, "sub", std::nullopt, std::nullopt).is_error);
  EXPECT_TRUE(read_file_tool(ctx, "nope.txt", std::nullopt, std::nullopt).is_error);
  put_tool_file(ws + "/empty", "");
  EXPECT_EQ(read_file_tool(ctx, "empty", std::nullopt, std::nullopt).content, "(empty file)");
  auto sliced = slice_lines("a\nb\nc", 1, 2000, 3);  // the byte cap stops early and says where to go on
  ASSERT_TRUE(sliced.ok());
  EXPECT_EQ(*sliced, "a\n[... lines 1-1 of 3 shown; continue with offset=2]");
}

TEST_F(FileToolsFixture, ListFilesPatterns) {
  fs::create_directories(ws + "/src/deep/er");
  for (const auto& f : {"/a.cpp", "/b.txt", "/src/c.cpp", "/src/deep/d.cpp", "/src/deep/er/e.cpp", "/.hidden.cpp"})
    put_tool_file(ws + f, "x");
  EXPECT_EQ(list_files_tool(ctx, std::string("*.cpp")).content, "a.cpp\n");
  EXPECT_EQ(list_files_tool(ctx, std::string("**/*.cpp")).content,
            "a.cpp\nsrc/c.cpp\nsrc/deep/d.cpp\nsrc/deep/er/e.cpp\n");
  EXPECT_EQ(list_files_tool(ctx, std::string("src/**/?.cpp")).content,
            "src/c.cpp\nsrc/deep/d.cpp\nsrc/deep/er/e.cpp\n");
  EXPECT_EQ(list_files_tool(ctx, std::string("src/*")).content, "src/c.cpp\nsrc/deep/\n");
  EXPECT_EQ(list_files_tool(ctx, std::string(".*.cpp")).content, ".hidden.cpp\n");
  auto top = list_files_tool(ctx, std::nullopt).content;
  EXPECT_NE(top.find("sub/\n"), std::string::npos) << top;
  EXPECT_NE(list_files_tool(ctx, std::string("*.none")).content.find("no files match"), std::string::npos);
  fs::create_directories(ws + "/many");
  for (int i = 0; i < 1100; ++i) put_tool_file(ws + "/many/f" + std::to_string(10000 + i), "");
  auto capped = list_files_tool(ctx, std::string("many/*")).content;
  EXPECT_NE(capped.find("[... 1000 of 1100 entries shown; narrow the pattern]"), std::string::npos);
  EXPECT_TRUE(glob_match({"**"}, {}));
  EXPECT_FALSE(glob_match({"*"}, {}));
  EXPECT_TRUE(glob_match({"a", "**", "b"}, {"a", "x", "y", "b"}));
}

TEST_F(FileToolsFixture, ReadOnlyWorkspaceSaysSo) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a private mount namespace";
  put_tool_file(ws + "/r.txt", "x\n");
  // A child in its own mount namespace bind-mounts the workspace read-only over itself
  // (as non-main groups get /workspace) and tries to write; it reports by exit code.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount(ws.c_str(), ws.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
        ::mount(nullptr, ws.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
      ::_exit(77);
    auto w = write_file_tool(ctx, "r.txt", "y");
    auto e = edit_file_tool(ctx, "r.txt", "x", "y");
    const std::string want = "the workspace is read-only for this group";
    ::_exit(w.is_error && w.content.find(want) == 0 && e.is_error && e.content.find(want) == 0 ? 0 : 1);
  }
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st));
  if (WEXITSTATUS(st) == 77) GTEST_SKIP() << "no mount namespace here";
  EXPECT_EQ(WEXITSTATUS(st), 0);
  EXPECT_EQ(tool_file_text(ws + "/r.txt"), "x\n");
}

TEST_F(FileToolsFixture, DispatchRefusesDisabledToolsAndReportsThem) {
  sb::ipc::Namer namer;
  ctx.namer = &namer;
  ctx.in_reply_to = "in-1";
  auto r = run_tool({"c1", "bash", R"({"command":"echo hi"})", std::nullopt}, ctx, {"read_file"});
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(r.content, "tool bash is not enabled for this group");
  auto names = sb::ipc::list_payloads(ctx.ipc_dir + "/messages");
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->size(), 1u);
  auto bytes = sb::ipc::read_bounded(ctx.ipc_dir + "/messages/" + names->front(), 4096);
  auto payload = sb::ipc::decode(sb::ipc::Box::messages, *bytes);
  ASSERT_TRUE(payload.ok()) << *bytes;  // the host's decoder accepts it
  EXPECT_EQ(std::get<sb::ipc::ToolRefused>(*payload), (sb::ipc::ToolRefused{"bash", std::string("in-1")}));

  auto unknown = run_tool({"c2", std::string(300, 'z'), "{}", std::nullopt}, ctx, {"read_file"});
  EXPECT_TRUE(unknown.is_error);
  EXPECT_EQ(sb::ipc::list_payloads(ctx.ipc_dir + "/messages")->size(), 2u);  // cut to 64 bytes, still reported

  auto bad_args =
      run_tool({"c3", "read_file", "{}", std::string("the arguments are not a JSON object: [1]")}, ctx, {"read_file"});
  EXPECT_TRUE(bad_args.is_error);
  EXPECT_EQ(bad_args.content, "the arguments are not a JSON object: [1]");
  auto missing = run_tool({"c4", "read_file", R"({"path":5})", std::nullopt}, ctx, {"read_file"});
  EXPECT_EQ(missing.content, "argument 'path' must be a string");
  put_tool_file(ws + "/n.txt", "1\n2\n3\n");
  auto as_string =
      run_tool({"c5", "read_file", R"({"path":"n.txt","offset":"2","limit":1.0})", std::nullopt}, ctx, {"read_file"});
  EXPECT_EQ(as_string.content, "2\n[... lines 2-2 of 3 shown; continue with offset=3]");
}

// What a terminal shows per tool call: the status, never the output.
TEST(ToolProgress, LinesSayTheOutcomeNotTheOutput) {
  using sb::agent::progress_line;
  EXPECT_EQ(progress_line("bash", {"secret output\n[exit code 0]\n", false}, 16), "bash: exit code 0 (16 ms)");
  EXPECT_EQ(progress_line("bash", {"x\n[killed after 1500 ms (timeout)]", true}, 1500),
            "bash: killed after 1500 ms (timeout) (1500 ms)");
  EXPECT_EQ(progress_line("read_file", {"line one\nline two", false}, 1), "read_file: ok (1 ms)");
  EXPECT_EQ(progress_line("read_file", {"Error: notes.txt: not found\nmore", true}, 0),
            "read_file: error: notes.txt: not found (0 ms)");
  EXPECT_EQ(progress_line(std::string(100, 't'), {"", false}, 2), std::string(64, 't') + ": ok (2 ms)");
}

TEST_F(FileToolsFixture, IpcToolsWriteTheHostsPayloads) {
  sb::ipc::Namer namer;
  ctx.namer = &namer;
  ctx.in_reply_to = "in-9";
  fs::create_directories(ctx.ipc_dir + "/tasks");
  const std::vector<std::string> all = {"send_message", "schedule_task", "pause_task", "list_tasks"};
  EXPECT_FALSE(run_tool({"a", "send_message", R"({"text":"hi","chat_jid":"tg:2"})", std::nullopt}, ctx, all).is_error);
  auto sched = run_tool(
      {"b", "schedule_task", R"({"prompt":"p","schedule_type":"interval","schedule_value":"60000"})", std::nullopt},
      ctx, all);
  EXPECT_FALSE(sched.is_error) << sched.content;
  auto bad =
      run_tool({"c", "schedule_task", R"({"prompt":"p","schedule_type":"weekly","schedule_value":"x"})", std::nullopt},
               ctx, all);
  EXPECT_TRUE(bad.is_error);
  EXPECT_NE(bad.content.find("the host would refuse this"), std::string::npos) << bad.content;
  EXPECT_FALSE(run_tool({"d", "pause_task", R"({"task_id":"t-1"})", std::nullopt}, ctx, all).is_error);
  auto msgs = sb::ipc::list_payloads(ctx.ipc_dir + "/messages");
  ASSERT_EQ(msgs->size(), 1u);
  auto m =
      sb::ipc::decode(sb::ipc::Box::messages, *sb::ipc::read_bounded(ctx.ipc_dir + "/messages/" + msgs->front(), 4096));
  EXPECT_EQ(std::get<sb::ipc::OutboundMessage>(*m),
            (sb::ipc::OutboundMessage{"hi", std::string("in-9"), std::string("tg:2")}));
  EXPECT_EQ(sb::ipc::list_payloads(ctx.ipc_dir + "/tasks")->size(), 2u);
  EXPECT_EQ(run_tool({"e", "list_tasks", "{}", std::nullopt}, ctx, all).content,
            "no tasks (the host has not published a task list)");
  put_tool_file(ctx.ipc_dir + "/current_tasks.json", R"([{"id":"t-1"}])");
  EXPECT_EQ(run_tool({"f", "list_tasks", "{}", std::nullopt}, ctx, all).content, R"([{"id":"t-1"}])");
}

}  // namespace
