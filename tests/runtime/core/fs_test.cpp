#include "runtime/core/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using sb::AtomicWriteOptions;
using sb::UniqueFd;
using sb::write_file_atomic;

bool fd_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Sets the umask for one test and puts the old one back.
struct Umask {
  explicit Umask(mode_t m) : old(::umask(m)) {}
  ~Umask() { ::umask(old); }
  mode_t old;
};

TEST(UniqueFd, ClosesOnDestructionAndMoves) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    UniqueFd a(raw);
    EXPECT_TRUE(a.valid());
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    EXPECT_EQ(b.get(), raw);
    UniqueFd c;
    c = std::move(b);
    EXPECT_EQ(c.get(), raw);
    EXPECT_TRUE(fd_open(raw));
  }
  EXPECT_FALSE(fd_open(raw));
}

TEST(UniqueFd, ResetClosesTheOldAndReleaseGivesUp) {
  int first = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int second = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  UniqueFd fd(first);
  fd.reset(second);
  EXPECT_FALSE(fd_open(first));
  EXPECT_EQ(fd.release(), second);
  EXPECT_FALSE(fd.valid());
  EXPECT_TRUE(fd_open(second));
  ::close(second);
  UniqueFd empty;
  EXPECT_EQ(empty.get(), -1);
}

TEST(WriteFileAtomic, CreatesTheFileWithExactlyTheMode) {
  sb::test::TempDir dir;
  Umask narrow(077);
  const std::string path = dir.file("a.json");
  ASSERT_TRUE(write_file_atomic(path, "hello\n", 0644));
  EXPECT_EQ(slurp(path), "hello\n");
  EXPECT_EQ(mode_of(path), 0644u) << "the umask must not narrow the mode";
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  ASSERT_TRUE(write_file_atomic(dir.file("b"), "x", AtomicWriteOptions{.mode = 0400, .durable = false}));
  EXPECT_EQ(mode_of(dir.file("b")), 0400u);
}

TEST(WriteFileAtomic, ReplacesAtomically) {
  sb::test::TempDir dir;
  const std::string path = dir.file("state");
  ASSERT_TRUE(write_file_atomic(path, "old", 0600));
  // A reader that opened the old file keeps reading the old content: the new file is a
  // new inode renamed over the name, never the old one rewritten in place.
  std::ifstream reader(path, std::ios::binary);
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  ASSERT_TRUE(write_file_atomic(path, "new content", 0600));
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(reader), {}), "old");
  EXPECT_EQ(slurp(path), "new content");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(WriteFileAtomic, AReaderNeverSeesAPartialFile) {
  sb::test::TempDir dir;
  const std::string path = dir.file("big");
  const std::string a(256 << 10, 'a'), b(128 << 10, 'b');
  ASSERT_TRUE(write_file_atomic(path, a, AtomicWriteOptions{.mode = 0644, .durable = false}));
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, torn{0};
  std::thread reader([&] {
    while (!done) {
      const std::string got = slurp(path);
      if (got != a && got != b) ++torn;
      ++reads;
    }
  });
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(write_file_atomic(path, i % 2 ? a : b, AtomicWriteOptions{.mode = 0644, .durable = false}));
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(torn.load(), 0);
}

TEST(WriteFileAtomic, NeverWritesThroughASymlinkedTmp) {
  sb::test::TempDir dir;
  const std::string path = dir.file("out");
  const std::string victim = dir.file("victim");
  { std::ofstream(victim) << "precious"; }
  fs::create_symlink(victim, path + ".tmp");
  ASSERT_TRUE(write_file_atomic(path, "mine", 0600));
  EXPECT_EQ(slurp(victim), "precious") << "the planted link was followed";
  EXPECT_FALSE(fs::is_symlink(path));
  EXPECT_EQ(slurp(path), "mine");
  EXPECT_FALSE(fs::exists(fs::symlink_status(path + ".tmp")));
}

TEST(WriteFileAtomic, AStaleTmpIsReplaced) {
  sb::test::TempDir dir;
  const std::string path = dir.file("out");
  { std::ofstream(path + ".tmp") << "left by a crash, and longer than the new content"; }
  ASSERT_TRUE(write_file_atomic(path, "fresh", 0600));
  EXPECT_EQ(slurp(path), "fresh");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(WriteFileAtomic, RefusesWhatItCannotRemoveAndLeavesTheOldFile) {
  sb::test::TempDir dir;
  const std::string path = dir.file("out");
  ASSERT_TRUE(write_file_atomic(path, "old", 0600));
  fs::create_directory(path + ".tmp");  // unlink() cannot remove it
  auto st = write_file_atomic(path, "new", 0600);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "fs.write_failed");
  EXPECT_NE(st.error().message.find(path + ".tmp"), std::string::npos) << st.error().message;
  EXPECT_EQ(slurp(path), "old");
  EXPECT_TRUE(fs::is_directory(path + ".tmp")) << "not ours to remove";
}

TEST(WriteFileAtomic, FailsCleanlyInAMissingDirectory) {
  sb::test::TempDir dir;
  auto st = write_file_atomic(dir.file("no/such/dir/file"), "x", 0600);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "fs.write_failed");
  EXPECT_EQ(st.error().message.rfind("open ", 0), 0u) << st.error().message;
}

TEST(WriteFileAtomic, NoReplaceKeepsTheExistingFile) {
  sb::test::TempDir dir;
  const std::string path = dir.file("token");
  AtomicWriteOptions once{.mode = 0600, .replace = false};
  ASSERT_TRUE(write_file_atomic(path, "first", once));
  auto st = write_file_atomic(path, "second", once);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "fs.exists");
  EXPECT_EQ(slurp(path), "first");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(WriteFileAtomic, EmptyContent) {
  sb::test::TempDir dir;
  const std::string path = dir.file("empty");
  ASSERT_TRUE(write_file_atomic(path, "", 0600));
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(fs::file_size(path), 0u);
}

TEST(WriteFileAtomic, ChownsTheFileWhenAsked) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown needs root (CI runs as root)";
  sb::test::TempDir dir;
  const std::string path = dir.file("owned");
  AtomicWriteOptions o{.mode = 0400, .durable = false, .uid = 65534, .gid = 65533};
  ASSERT_TRUE(write_file_atomic(path, "x", o));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_gid, 65533u);
  o.uid.reset();  // only the group
  o.gid = 65532;
  ASSERT_TRUE(write_file_atomic(path, "y", o));
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, 65532u);
}

TEST(ReadFile, ReadsEverythingIncludingNulBytes) {
  sb::test::TempDir dir;
  const std::string content("a\0b\nc", 5);
  ASSERT_TRUE(write_file_atomic(dir.file("f"), content, 0600));
  auto got = sb::read_file(dir.file("f"));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, content);
  const std::string big(100000, 'z');
  ASSERT_TRUE(write_file_atomic(dir.file("big"), big, 0600));
  EXPECT_EQ(sb::read_file(dir.file("big")).value(), big);
}

TEST(ReadFile, ReadsProcFilesWhoseSizeIsZero) {
  auto got = sb::read_file("/proc/self/status");
  ASSERT_TRUE(got);
  EXPECT_NE(got->find("Pid:"), std::string::npos);
}

TEST(ReadFile, ErrorsNameThePath) {
  sb::test::TempDir dir;
  auto missing = sb::read_file(dir.file("missing"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "fs.not_found");
  EXPECT_EQ(missing.error().message.rfind(dir.file("missing") + ": ", 0), 0u) << missing.error().message;
  auto directory = sb::read_file(dir.path());
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().code, "fs.read_failed");
}

TEST(FsyncDirectory, SyncsOrSaysWhy) {
  sb::test::TempDir dir;
  EXPECT_TRUE(sb::fsync_directory(dir.path()));
  auto st = sb::fsync_directory(dir.file("missing"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "fs.sync_failed");
  EXPECT_EQ(st.error().message.rfind("open directory ", 0), 0u) << st.error().message;
}

TEST(ParentDir, OfPaths) {
  EXPECT_EQ(sb::parent_dir("/a/b/c"), "/a/b");
  EXPECT_EQ(sb::parent_dir("/c"), "/");
  EXPECT_EQ(sb::parent_dir("c"), ".");
  EXPECT_EQ(sb::parent_dir("a/c"), "a");
}

}  // namespace
