#include <gtest/gtest.h>

#include "runtime/core/log.hpp"
#include "runtime/core/metrics.hpp"
#include "runtime/core/result.hpp"

namespace {

using sb::log::Field;
using sb::log::Format;
using sb::log::Level;

TEST(Log, LogfmtQuotesValuesThatNeedIt) {
  auto line = sb::log::format_line(Format::logfmt, "2026-01-01T00:00:00.000Z", Level::warn, "http.error",
                                   {{"path", "/a b"}, {"status", 404}, {"ok", false}});
  EXPECT_EQ(line, "ts=2026-01-01T00:00:00.000Z level=warn event=http.error path=\"/a b\" status=404 ok=false\n");
}

TEST(Log, JsonEscapesAndKeepsNumbersBare) {
  auto line = sb::log::format_line(Format::json, "T", Level::info, "e", {{"msg", "say \"hi\"\n"}, {"n", 3}});
  EXPECT_EQ(line, "{\"ts\":\"T\",\"level\":\"info\",\"event\":\"e\",\"msg\":\"say \\\"hi\\\"\\n\",\"n\":3}\n");
}

TEST(Log, SecretFieldsAreRedacted) {
  sb::Secret token("s3cr3t-value");
  auto line = sb::log::format_line(Format::logfmt, "T", Level::info, "e", {{"token", token}});
  EXPECT_EQ(line.find("s3cr3t-value"), std::string::npos);
  EXPECT_NE(line.find("[redacted]"), std::string::npos);
}

TEST(Log, ParsesLevelsAndRejectsUnknown) {
  Level l;
  EXPECT_TRUE(sb::log::parse_level("debug", l));
  EXPECT_EQ(l, Level::debug);
  EXPECT_FALSE(sb::log::parse_level("verbose", l));
  Format f;
  EXPECT_TRUE(sb::log::parse_format("json", f));
  EXPECT_EQ(f, Format::json);
  EXPECT_FALSE(sb::log::parse_format("xml", f));
}

TEST(Metrics, RendersCountersWithLabelsAndHelp) {
  sb::metrics::Registry r;
  r.counter("requests_total", "Requests.", {{"status", "200"}}).inc(3);
  r.counter("requests_total", "Requests.", {{"status", "404"}}).inc();
  auto text = r.render();
  EXPECT_NE(text.find("# HELP requests_total Requests.\n# TYPE requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("requests_total{status=\"200\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("requests_total{status=\"404\"} 1\n"), std::string::npos);
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  sb::metrics::Registry r;
  auto& h = r.histogram("batch", "Batch sizes.", {1, 10});
  h.observe(1);
  h.observe(5);
  h.observe(50);
  auto text = r.render();
  EXPECT_NE(text.find("batch_bucket{le=\"1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("batch_bucket{le=\"10\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("batch_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("batch_sum 56\n"), std::string::npos) << text;
  EXPECT_NE(text.find("batch_count 3\n"), std::string::npos) << text;
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(sb::metrics::render_labels({{"a", "x\"y\\z"}}), "{a=\"x\\\"y\\\\z\"}");
}

TEST(Metrics, SameNameWithAnotherKindIsAProgrammerError) {
  sb::metrics::Registry r;
  r.counter("m", "h");
  EXPECT_THROW(r.gauge("m", "h"), std::logic_error);
}

TEST(Metrics, ProcessMetricsAreReadFromProc) {
  std::string out;
  sb::metrics::render_process_metrics(out);
  EXPECT_NE(out.find("process_resident_memory_bytes "), std::string::npos);
  EXPECT_EQ(out.find("process_resident_memory_bytes 0\n"), std::string::npos);
  EXPECT_NE(out.find("process_open_fds "), std::string::npos);
}

TEST(Result, CarriesValueOrError) {
  sb::Result<int> good(7);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  sb::Result<int> bad(sb::make_error("x.y", "broken"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "x.y");
  sb::Status fine;
  EXPECT_TRUE(fine.ok());
}

}  // namespace
