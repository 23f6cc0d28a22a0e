#pragma once
// The three measurements of bench_container; each prints its own summary lines and
// returns false if it could not measure (the reason is printed).
namespace sb::bench {

struct Counts {
  bool smoke = false;
  int cold_runs = 50;  // per side
  int warm_messages = 2000;
  int docker_runs = 30;  // per side
};

bool bench_oci(const Counts& counts);     // cold (supervisor vs raw crun run) + warm
bool bench_docker(const Counts& counts);  // DockerRuntime vs `docker run --rm`

}  // namespace sb::bench
