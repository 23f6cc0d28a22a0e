#pragma once
// Shared helpers of bench_container: temp dirs that always go away, percentiles,
// child processes run from an argv (never a shell), the agent binary's path.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace sb::bench {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// mkdtemp under $SQUADBOX_BENCH_DIR (default /tmp); removed recursively on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Nearest-rank percentile (p in [0,1]) of a copy of `v`; 0 for an empty vector.
double percentile(std::vector<double> v, double p);

// "median X, p90 Y" style helpers.
struct Summary {
  size_t n = 0;
  double p50 = 0, p90 = 0, p99 = 0, min = 0, max = 0;
};
Summary summarize(const std::vector<double>& v);

// Directory of this executable (build/bin), and the agent next to it.
std::string exe_dir();
std::string agent_binary();

struct ChildIo {
  std::string stdout_file = "/dev/null";  // appended to
  std::string stderr_file = "/dev/null";
  std::vector<std::string> env;  // extra "K=V" entries on top of ours
};

// fork + execvp; stdin is /dev/null. Returns the pid (or -1).
pid_t spawn(const std::vector<std::string>& argv, const ChildIo& io = {});
// waitpid for that pid only (the oci runtime makes us a subreaper: never wait(-1)).
// Returns the exit code (128+signal when killed), -1 on error or timeout (then SIGKILLed).
int wait_child(pid_t pid, std::chrono::milliseconds timeout);
// spawn + wait_child.
int run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout, const ChildIo& io = {});

std::string read_file(const std::string& path);
std::string random_hex(size_t chars);

}  // namespace sb::bench
