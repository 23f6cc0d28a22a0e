#include "runtime/container/scan/security_scanner.hpp"

#include <signal.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "runtime/core/log.hpp"

namespace sb::container::scan {
namespace {

std::string label(const container::Labels& labels, const char* key) {
  auto it = labels.find(key);
  return it == labels.end() ? std::string() : it->second;
}

// Races with a run that ends while we look are not errors.
bool benign(const Error& e) {
  return e.code == "container.not_found" || e.code == "container.not_running";
}

}  // namespace

size_t ScanReport::finding_count() const {
  size_t n = 0;
  for (const auto& v : offending) n += v.findings.size();
  return n;
}

SecurityScanner::SecurityScanner(container::ContainerRuntime& runtime, const ApprovedContainers& approved,
                                 ScannerOptions options)
    : runtime_(runtime),
      approved_(approved),
      options_(std::move(options)),
      baseline_(baseline_for(runtime.backend())) {}

ScanReport SecurityScanner::scan(std::chrono::steady_clock::time_point now) {
  const auto began = std::chrono::steady_clock::now();
  ScanReport report;
  auto listed = runtime_.list({{container::kLabelInstall, options_.install_id}});
  if (!listed) {
    report.errors.push_back("list: " + listed.error().message);
  } else {
    for (const auto& info : *listed) {
      if (info.state != container::ContainerState::running) continue;
      if (label(info.labels, container::kLabelInstall) != options_.install_id) continue;  // defence in depth
      ++report.checked;
      ObservedContainer observed{info.id, info.labels, std::nullopt};
      auto approved = approved_.find(info.id);
      if (!approved && options_.owned_elsewhere && options_.owned_elsewhere(label(info.labels, container::kLabelRun)))
        approved = ApprovedContainer{info.id, label(info.labels, container::kLabelRun),
                                     label(info.labels, container::kLabelNamespace), std::nullopt, std::nullopt};
      if (approved) {
        auto profile = runtime_.security_profile(info.id);
        if (profile) {
          observed.profile = std::move(*profile);
        } else if (profile.error().code == "container.unsupported") {
          ++report.unobservable;
        } else if (benign(profile.error())) {
          continue;  // ended meanwhile: nothing left to judge
        } else {
          report.errors.push_back(info.id + ": " + profile.error().message);
        }
      }
      auto findings = assess(observed, approved ? &*approved : nullptr, baseline_, now, options_.timeout_grace);
      if (findings.empty()) continue;
      if (!approved) {
        // It may have been a run that just ended and unregistered: only a container
        // that is still running and still unregistered is unknown.
        auto again = runtime_.inspect(info.id);
        if (!again || again->state != container::ContainerState::running || approved_.find(info.id)) continue;
      }
      ContainerVerdict v;
      v.container_id = info.id;
      v.run_id = approved ? approved->run_id : label(info.labels, container::kLabelRun);
      v.namespace_name = approved ? approved->namespace_name : label(info.labels, container::kLabelNamespace);
      v.findings = std::move(findings);
      stop(v);
      report.offending.push_back(std::move(v));
    }
  }
  report.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began);
  return report;
}

void SecurityScanner::stop(ContainerVerdict& v) {
  (void)runtime_.kill(v.container_id, SIGKILL);  // remove(force) kills too; this is the fast path
  if (auto s = runtime_.remove(v.container_id, true); !s) {
    v.stop_error = s.error().message;
    log::error("security.stop_failed", {{"container", v.container_id}, {"error", s.error().message}});
    return;
  }
  v.stopped = true;
}

std::string finding_detail(const ContainerVerdict& v, const Finding& f) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](const std::string& s) { w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size())); };
  w.StartObject();
  w.Key("namespace");
  str(v.namespace_name);
  w.Key("run");
  str(v.run_id);
  w.Key("kind");
  str(std::string(to_string(f.kind)));
  w.Key("what");
  str(f.what);
  w.Key("stopped");
  w.Bool(v.stopped);
  if (!v.stop_error.empty()) {
    w.Key("stop_error");
    str(v.stop_error);
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

void record_scan(const ScanReport& report, const AuditSink& sink, metrics::Registry* metrics) {
  for (const auto& v : report.offending) {
    for (const auto& f : v.findings) {
      const std::string kind(to_string(f.kind));
      log::warn("security.finding", {{"container", v.container_id},
                                     {"namespace", v.namespace_name},
                                     {"kind", kind},
                                     {"what", f.what},
                                     {"stopped", v.stopped}});
      if (sink) sink(AuditRecord{"security_auditor", "security.finding", v.container_id, finding_detail(v, f)});
      if (metrics)
        metrics->counter("squadbox_security_findings_total", "Security audit findings by kind.", {{"kind", kind}})
            .inc();
    }
    if (metrics && v.stopped)
      metrics->counter("squadbox_security_containers_stopped_total", "Containers stopped by the security audit.").inc();
  }
  for (const auto& e : report.errors) log::warn("security.scan_error", {{"error", e}});
  if (!metrics) return;
  metrics->counter("squadbox_security_scans_total", "Security audit scans of running containers.").inc();
  if (!report.errors.empty())
    metrics->counter("squadbox_security_scan_errors_total", "Security audit listing or observation failures.")
        .inc(report.errors.size());
  metrics
      ->histogram("squadbox_security_scan_duration_seconds", "Duration of one security audit scan.",
                  {0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30})
      .observe(static_cast<double>(report.duration.count()) / 1e6);
}

}  // namespace sb::container::scan
