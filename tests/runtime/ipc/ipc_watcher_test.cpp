// Host side: IpcDirectory layout and inputs, IpcWatcher delivery guarantees.
#include "runtime/ipc/ipc_watcher.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/ipc/ipc_directory.hpp"
#include "runtime/ipc/ipc_fs.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace sb::ipc;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct RunDir {
  sb::test::TempDir tmp{"squadbox-ipc"};
  IpcDirectory dir = IpcDirectory::create(tmp.path() + "/run", {std::nullopt, std::nullopt}).value();
  std::string messages = dir.path(Box::messages);
  std::string tasks = dir.path(Box::tasks);
};

// Collects deliveries until `n` arrived or the deadline passed.
std::vector<Delivery> collect(IpcWatcher& w, size_t n, std::chrono::milliseconds timeout = 20s) {
  std::vector<Delivery> all;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (all.size() < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    for (auto& d : w.wait_for(left)) all.push_back(std::move(d));
  }
  return all;
}

std::string text_of(const Delivery& d) {
  return std::get<OutboundMessage>(d.payload).text;
}

size_t count_files(const std::string& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(IpcDirectory, LayoutModesAndOwnership) {
  ASSERT_EQ(::geteuid(), 0u) << "chown to the container uid needs root (CI runs as root)";
  sb::test::TempDir tmp("squadbox-ipc");
  auto dir = IpcDirectory::create(tmp.path() + "/run");
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(dir->root().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  for (auto sub : {"input", "messages", "tasks", "errors"}) {
    ASSERT_EQ(::stat((dir->root() + "/" + sub).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u) << sub;
    EXPECT_EQ(st.st_uid, 65534u) << sub;
    EXPECT_EQ(st.st_gid, 65534u) << sub;
  }
}

TEST(IpcDirectory, RefusesASymlinkInPlaceOfASubdirectory) {
  sb::test::TempDir tmp("squadbox-ipc");
  fs::create_directories(tmp.path() + "/run");
  fs::create_directory_symlink("/etc", tmp.path() + "/run/messages");
  auto dir = IpcDirectory::create(tmp.path() + "/run", {std::nullopt, std::nullopt});
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().code, "ipc.layout_failed");
}

TEST(IpcDirectory, WritesInputsAtomicallyAndCloses) {
  RunDir r;
  auto id1 = r.dir.write_input("hello", std::string("tg:1"));
  auto id2 = r.dir.write_input("world");
  ASSERT_TRUE(id1.ok() && id2.ok());
  EXPECT_NE(id1.value(), id2.value());
  auto names = list_payloads(r.dir.path(Box::input)).value();
  ASSERT_EQ(names.size(), 2u);
  auto first =
      decode(Box::input, sb::ipc::read_bounded(r.dir.path(Box::input) + "/" + names[0], kDefaultMaxBytes).value());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(std::get<InputMessage>(first.value()), (InputMessage{id1.value(), "hello", std::string("tg:1")}));
  ASSERT_TRUE(r.dir.write_input(InputMessage{"persisted-7", "again", std::nullopt}).ok());
  EXPECT_FALSE(r.dir.write_input(InputMessage{"", "no id", std::nullopt}).ok());

  ASSERT_TRUE(r.dir.close().ok());
  EXPECT_TRUE(fs::exists(r.dir.path(Box::input) + "/_close"));
  for (auto& e : fs::directory_iterator(r.dir.path(Box::input)))
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos);
  // A new run in the same directory starts without the old sentinel.
  auto again = IpcDirectory::create(r.dir.root(), {std::nullopt, std::nullopt});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(fs::exists(r.dir.path(Box::input) + "/_close"));
}

TEST(IpcWatcher, BurstArrivesExactlyOnceInOrder) {
  RunDir r;
  auto w = IpcWatcher::open(r.dir.root()).value();
  constexpr int kFiles = 2000;
  std::thread writer([&] {
    Namer namer;
    for (int i = 0; i < kFiles; ++i) {
      Box box = i % 10 == 9 ? Box::tasks : Box::messages;
      Payload p = box == Box::tasks ? Payload(TaskControl{TaskControl::Op::cancel, std::to_string(i)})
                                    : Payload(OutboundMessage{std::to_string(i), std::nullopt, std::nullopt});
      ASSERT_TRUE(write_payload(r.dir.path(box), namer, encode(p)).ok());
    }
  });
  // A generous deadline, not a speed claim: 2000 files at -O0 under ASan on a loaded
  // 2-core CI box took over 20 s once.
  auto got = collect(w, kFiles, 120s);
  writer.join();
  ASSERT_EQ(got.size(), static_cast<size_t>(kFiles));
  for (int i = 0; i < kFiles; ++i) {
    if (i % 10 == 9) {
      ASSERT_EQ(got[i].box, Box::tasks);
      EXPECT_EQ(std::get<TaskControl>(got[i].payload).task_id, std::to_string(i));
    } else {
      ASSERT_EQ(got[i].box, Box::messages);
      EXPECT_EQ(text_of(got[i]), std::to_string(i));
    }
  }
  EXPECT_TRUE(w.drain().empty());
  EXPECT_EQ(count_files(r.messages), 0u);
  EXPECT_EQ(count_files(r.tasks), 0u);
}

TEST(IpcWatcher, QueueOverflowFallsBackToARescan) {
  unsigned long max_events = 16384;
  std::ifstream("/proc/sys/fs/inotify/max_queued_events") >> max_events;
  if (max_events > 200000) GTEST_SKIP() << "inotify queue too large to overflow cheaply";
  RunDir r;
  auto w = IpcWatcher::open(r.dir.root()).value();
  EXPECT_TRUE(w.drain().empty());  // the initial rescan is done; from now on events only
  // Each file makes two events (tmp closed, renamed): this many overflows the queue.
  const size_t n = max_events / 2 + 500;
  Namer namer;
  for (size_t i = 0; i < n; ++i)
    ASSERT_TRUE(write_payload(r.messages, namer, encode(OutboundMessage{std::to_string(i), {}, {}})).ok());
  auto got = collect(w, n, 60s);
  ASSERT_EQ(got.size(), n);
  EXPECT_GE(w.overflows(), 1u);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(text_of(got[i]), std::to_string(i));
  EXPECT_TRUE(w.drain().empty());
}

TEST(IpcWatcher, PicksUpFilesWrittenBeforeItStarted) {
  RunDir r;
  Namer namer;
  ASSERT_TRUE(write_payload(r.messages, namer, encode(OutboundMessage{"early", {}, {}})).ok());
  auto w = IpcWatcher::open(r.dir.root()).value();
  auto got = collect(w, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(text_of(got[0]), "early");
}

TEST(IpcWatcher, TmpFilesAreNeverDeliveredAndPartialWritesArriveWhole) {
  RunDir r;
  auto w = IpcWatcher::open(r.dir.root()).value();
  // A tmp that is never renamed: complete JSON, closed, but not a payload.
  ASSERT_TRUE(sb::ipc::write_atomic(r.messages, "stray.json.tmp", encode(OutboundMessage{"stray", {}, {}}), true).ok());
  // A partially written tmp, delivered only after its rename.
  std::string full = encode(OutboundMessage{std::string(100000, 'p'), {}, {}});
  std::string tmp = r.messages + "/0000000000001-000000001.json.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, full.data(), 1000), 1000);
  ::fsync(fd);
  EXPECT_TRUE(w.drain().empty());
  ASSERT_EQ(::write(fd, full.data() + 1000, full.size() - 1000), static_cast<ssize_t>(full.size() - 1000));
  ::close(fd);  // IN_CLOSE_WRITE on a .tmp: still nothing
  EXPECT_TRUE(w.drain().empty());
  ASSERT_EQ(::rename(tmp.c_str(), (r.messages + "/0000000000001-000000001.json").c_str()), 0);
  auto got = collect(w, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(text_of(got[0]).size(), 100000u);
  // A later real file proves the stray tmp was seen and skipped, not merely pending.
  Namer namer;
  ASSERT_TRUE(write_payload(r.messages, namer, encode(OutboundMessage{"after", {}, {}})).ok());
  got = collect(w, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(text_of(got[0]), "after");
  EXPECT_TRUE(fs::exists(r.messages + "/stray.json.tmp"));
}

TEST(IpcWatcher, RejectsBadFilesIntoErrorsWithReasonsAndMetrics) {
  RunDir r;
  sb::metrics::Registry reg;
  IpcWatcherOptions opts;
  opts.max_bytes = 4096;
  opts.metrics = &reg;
  auto w = IpcWatcher::open(r.dir.root(), opts).value();
  auto put = [](const std::string& dir, const std::string& name, const std::string& content) {
    ASSERT_TRUE(sb::ipc::write_atomic(dir, name, content).ok());
  };
  put(r.messages, "0000000000001-000000001.json", "{not json");
  put(r.messages, "0000000000001-000000002.json", encode(OutboundMessage{std::string(5000, 'x'), {}, {}}));
  put(r.messages, "0000000000001-000000003.json", R"({"type":"unregister_group","jid":"x"})");
  put(r.messages, "0000000000001-000000004.json", encode(TaskControl{TaskControl::Op::pause, "t"}));
  put(r.tasks, "0000000000001-000000005.json", encode(OutboundMessage{"hi", {}, {}}));
  put(r.tasks, "0000000000001-000000006.json", R"({"type":"pause_task"})");
  fs::create_symlink("/etc/passwd", r.messages + "/0000000000001-000000007.json");
  put(r.messages, "0000000000001-000000008.json", encode(OutboundMessage{"good", {}, {}}));

  auto got = collect(w, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(text_of(got[0]), "good");
  EXPECT_TRUE(w.drain().empty());

  std::string errors = r.dir.errors_path();
  auto reason = [&](const std::string& f) {
    auto r = sb::ipc::read_bounded(errors + "/" + f + ".reason", 4096);
    return r ? r.value() : std::string();
  };
  EXPECT_NE(reason("messages-0000000000001-000000001.json").find("ipc.malformed"), std::string::npos);
  EXPECT_NE(reason("messages-0000000000001-000000002.json").find("ipc.oversized"), std::string::npos);
  EXPECT_NE(reason("messages-0000000000001-000000003.json").find("ipc.unknown_type"), std::string::npos);
  EXPECT_NE(reason("messages-0000000000001-000000004.json").find("ipc.wrong_directory"), std::string::npos);
  EXPECT_NE(reason("tasks-0000000000001-000000005.json").find("ipc.wrong_directory"), std::string::npos);
  EXPECT_NE(reason("tasks-0000000000001-000000006.json").find("ipc.invalid_field"), std::string::npos);
  EXPECT_NE(reason("messages-0000000000001-000000007.json").find("ipc.read_error"), std::string::npos);
  EXPECT_TRUE(fs::exists(errors + "/messages-0000000000001-000000001.json"));
  EXPECT_TRUE(fs::is_symlink(errors + "/messages-0000000000001-000000007.json"));  // moved, not followed
  EXPECT_EQ(count_files(r.messages), 0u);
  EXPECT_EQ(count_files(r.tasks), 0u);

  std::string m = reg.render();
  EXPECT_NE(m.find(R"(squadbox_ipc_rejected_total{reason="malformed"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(squadbox_ipc_rejected_total{reason="oversized"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(squadbox_ipc_rejected_total{reason="unknown_type"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(squadbox_ipc_rejected_total{reason="wrong_directory"} 2)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(squadbox_ipc_rejected_total{reason="invalid_field"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(squadbox_ipc_rejected_total{reason="read_error"} 1)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(squadbox_ipc_files_total{kind="messages"} 1)"), std::string::npos) << m;
}

TEST(IpcWatcher, FdIsPollableAndWaitForTimesOut) {
  RunDir r;
  auto w = IpcWatcher::open(r.dir.root()).value();
  EXPECT_GE(w.fd(), 0);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(w.wait_for(50ms).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
  EXPECT_FALSE(IpcWatcher::open(r.tmp.path() + "/missing").ok());
}

}  // namespace
