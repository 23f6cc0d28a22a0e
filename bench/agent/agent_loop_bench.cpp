// The agent loop's own cost (issue 15 targets: one tool step p50 <= 2 ms for read_file and
// <= 10 ms for bash `true`, inside a running container). `squadbox cowork` runs the llm
// agent in a real crun container against a scripted fake model (OpenAI-compatible, TLS on
// loopback, through the real credential proxy) that answers at once: the time between two
// model requests is one step (response parsed -> tool run -> result encoded -> proxy ->
// next request). A third run answers each step after a fixed delay and prints the turn's
// overhead next to the model's time, as a ratio.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/scripted_model.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using sb::test::ChildProcess;
using sb::test::ModelProtocol;
using sb::test::ScriptedModel;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1))];
}

struct Run {
  bool ok = false;
  double wall_ms = 0;
  std::vector<double> steps_ms;  // between consecutive model requests, the first excluded
  size_t model_connections = 0;  // TLS connections the model's server accepted
  size_t last_body_bytes = 0;    // the turn's last model request
};

// One cowork turn of `steps` tool calls (the same call each time) and a final answer.
Run run_turn(ScriptedModel& model, const std::string& squadbox, const std::string& config, const std::string& data,
             const std::string& ws, const std::string& tool, const std::string& args, int steps,
             std::chrono::milliseconds model_delay) {
  model.reset();
  for (int i = 0; i < steps; ++i) {
    auto reply = sb::test::openai_tool_calls({{"c" + std::to_string(i), tool, args}});
    reply.delay = model_delay;
    model.push({{}, reply});
  }
  auto final_reply = sb::test::openai_text("done");
  final_reply.delay = model_delay;
  model.push({{}, final_reply});
  const auto start = std::chrono::steady_clock::now();
  ChildProcess cowork(squadbox,
                      {"cowork", "--config", config, "--data-dir", data, "--workspace", ws, "--route", "local",
                       "--protocol", "openai", "--model", "bench", "--", "go"},
                      {}, data + "/cowork-" + tool);
  const size_t connections_before = model.upstream().connection_count();
  Run run;
  run.ok = cowork.wait(300s) == std::optional<int>(0) && model.violations().empty();
  run.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!run.ok) std::fprintf(stderr, "cowork failed: %s\n", cowork.stderr_text().c_str());
  run.model_connections = model.upstream().connection_count() - connections_before;
  if (auto bodies = model.bodies(); !bodies.empty()) run.last_body_bytes = bodies.back().size();
  auto at = model.arrivals();
  // Request k+1 arrives after reply k (sent model_delay after request k) was handled.
  for (size_t k = 2; k < at.size(); ++k)
    run.steps_ms.push_back(std::chrono::duration<double, std::milli>(at[k] - at[k - 1]).count() -
                           static_cast<double>(model_delay.count()));
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  int steps = 20;  // a turn at the default step limit; its requests grow with every step
  int turns = 3;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--smoke")
      smoke = true;
    else if (a.rfind("--benchmark_", 0) == 0)
      continue;
    else if (a == "--steps" && i + 1 < argc)
      steps = std::clamp(std::atoi(argv[++i]), 2, 190);
    else if (a == "--turns" && i + 1 < argc)
      turns = std::clamp(std::atoi(argv[++i]), 1, 50);
    else {
      std::fprintf(stderr, "usage: bench_agent_loop [--smoke] [--steps N] [--turns T]\n");
      return 2;
    }
  }
  if (smoke) {
    steps = std::min(steps, 6);
    turns = 1;
  }
  if (::geteuid() != 0) {
    std::printf("bench_agent_loop: skipped (crun containers need root)\n");
    return 0;
  }
  if (std::system(SB_SOURCE_DIR "/deploy/prepare-host.sh >/dev/null") != 0) {
    std::printf("bench_agent_loop: deploy/prepare-host.sh failed\n");
    return 1;
  }
  sb::test::TempDir dir("squadbox-bench-agent");
  const std::string squadbox = sb::test::bin_dir() + "/squadbox";
  const std::string data = dir.file("data"), ws = dir.file("ws");
  std::filesystem::create_directories(ws);
  std::filesystem::create_directories(dir.file("pki"));
  std::ofstream(ws + "/small.txt") << "one line of text\n";
  ChildProcess build(squadbox, {"image", "build", "--data-dir", data}, {}, dir.file("build"));
  if (build.wait(120s) != 0) {
    std::fprintf(stderr, "image build failed: %s\n", build.stderr_text().c_str());
    return 1;
  }
  auto pki = sb::test::TestPki::generate(dir.file("pki"));
  ScriptedModel model(ModelProtocol::openai, {.tls = true, .cert_file = pki.cert_file, .key_file = pki.key_file});
  const std::string config = dir.file("squadbox.toml");
  // llm_max_steps: a turn of `steps` tool calls must not hit the step limit (20).
  std::ofstream(config) << "[container]\nruntime = \"oci\"\nllm_max_steps = 200\n[proxy]\nca_file = \"" << pki.ca_file
                        << "\"\n[proxy.routes.local]\nupstream = \"https://localhost:" << model.port()
                        << "\"\nheader = \"authorization\"\n";

  auto report = [](const char* what, const Run& r, double target) {
    std::printf(
        "%-22s steps %3zu  p50 %7.3f ms  p90 %7.3f ms  max %7.3f ms  (target p50 <= %.0f ms)  model connections "
        "%zu  last body %zu B%s\n",
        what, r.steps_ms.size(), percentile(r.steps_ms, 50), percentile(r.steps_ms, 90),
        r.steps_ms.empty() ? 0.0 : *std::max_element(r.steps_ms.begin(), r.steps_ms.end()), target, r.model_connections,
        r.last_body_bytes, r.ok ? "" : "  [RUN FAILED]");
  };
  // Steps of `turns` turns of `steps` tool calls each, pooled.
  auto pooled = [&](const std::string& tool, const std::string& args) {
    Run all;
    all.ok = true;
    for (int t = 0; t < turns; ++t) {
      auto r = run_turn(model, squadbox, config, data, ws, tool, args, steps, 0ms);
      all.ok = all.ok && r.ok;
      all.steps_ms.insert(all.steps_ms.end(), r.steps_ms.begin(), r.steps_ms.end());
      all.model_connections += r.model_connections;
      all.last_body_bytes = r.last_body_bytes;
    }
    return all;
  };
  std::printf("%d turns of %d tool steps each (a request carries the whole turn so far)\n", turns, steps);
  auto read = pooled("read_file", R"({"path":"small.txt"})");
  report("step read_file", read, 2);
  auto bash = pooled("bash", R"({"command":"true"})");
  report("step bash true", bash, 10);
  // The whole turn next to a model that takes 200 ms per answer (a fast hosted model).
  const auto delay = 200ms;
  const int turn_steps = smoke ? 3 : 10;
  auto paced = run_turn(model, squadbox, config, data, ws, "read_file", R"({"path":"small.txt"})", turn_steps, delay);
  const double model_ms = static_cast<double>((turn_steps + 1) * delay.count());
  const double overhead = paced.wall_ms - model_ms;
  std::printf(
      "turn (%d steps)         wall %8.1f ms  model %8.1f ms  overhead %8.1f ms  (container start "
      "included)  overhead/model %.3f%s\n",
      turn_steps, paced.wall_ms, model_ms, overhead, overhead / model_ms, paced.ok ? "" : "  [RUN FAILED]");
  double loop_ms = 0;
  for (double s : paced.steps_ms) loop_ms += s;
  std::printf(
      "turn loop only          %8.1f ms over %zu steps (steps without the container start): %.4f of the "
      "model's time\n",
      loop_ms, paced.steps_ms.size(), loop_ms / model_ms);
  return read.ok && bash.ok && paced.ok ? 0 : 1;
}
