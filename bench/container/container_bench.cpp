// Container figures, measured side by side in one run:
//   1. cold message-to-first-reply on the oci backend: a fresh ContainerSupervisor run
//      (run dir, IPC, crun create+start, echo agent) vs a raw `crun run` of an
//      equivalent bundle with the agent in oneshot mode;
//   2. warm follow-up round trip through one running container (supervisor path);
//   3. (--docker) DockerRuntime create+start+wait+remove vs `docker run --rm`, against a
//      private dockerd started like the docker tests do.
//
//   bench_container [--smoke] [--docker]   (--docker adds part 3; --smoke: tiny counts)
//   [--benchmark_* flags (accepted, unused)]
// Needs root, crun, busybox-static and deploy/prepare-host.sh having run.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/container/benches.hpp"
#include "runtime/core/log.hpp"

int main(int argc, char** argv) {
  sb::bench::Counts counts;
  bool docker = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0)
      counts.smoke = true;
    else if (std::strcmp(argv[i], "--docker") == 0)
      docker = true;
    else
      args.push_back(argv[i]);
  }
  if (counts.smoke) {
    counts.cold_runs = 3;
    counts.warm_messages = 50;
    counts.docker_runs = 3;
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());  // takes --benchmark_* flags; timing is our own
  sb::log::configure(sb::log::Level::error, sb::log::Format::logfmt);
  if (::geteuid() != 0) {
    std::printf("bench_container: needs root (crun containers, chown of the IPC dirs); skipped\n");
    return 0;
  }
  ::signal(SIGPIPE, SIG_IGN);
  bool ok = true;
  ok = sb::bench::bench_oci(counts) && ok;
  if (docker) ok = sb::bench::bench_docker(counts) && ok;
  benchmark::Shutdown();
  return ok ? 0 : 1;
}
