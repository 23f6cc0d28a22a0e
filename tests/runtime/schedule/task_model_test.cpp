// Task bodies in the product shape: what POST and PATCH accept, what they refuse (the
// message names the field, for a cron expression the cron field), the next run, the
// result excerpt and the JSON rendering.
#include "runtime/schedule/task_model.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "runtime/schedule/once.hpp"

namespace sb::schedule {
namespace {

const char* kValid =
    R"({"name":"standup","group":"main","prompt":"Summarise","schedule":{"type":"cron","value":"0 9 * * 1-5"},)"
    R"("containerConfig":{"timeoutSecs":600},"contextMode":"isolated","enabled":true})";

std::string error_of(std::string_view body, bool create = true) {
  auto p = parse_task_patch(body, create);
  return p.ok() ? std::string("ok") : p.error().code + " " + p.error().message;
}

int64_t iso_ms(const std::string& iso) {
  auto t = parse_once(iso, TimeZone::utc());
  EXPECT_TRUE(t.ok()) << iso;
  return t.ok() ? t->time_since_epoch().count() : 0;
}

TEST(TaskModel, ParsesTheProductExample) {
  auto p = parse_task_patch(kValid, true);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(*p->name, "standup");
  EXPECT_EQ(*p->group, "main");
  EXPECT_EQ(*p->prompt, "Summarise");
  EXPECT_EQ(p->schedule->type, ScheduleType::cron);
  EXPECT_EQ(p->schedule->value, "0 9 * * 1-5");
  EXPECT_EQ(*p->timeout_secs, 600);
  EXPECT_EQ(*p->context_mode, ContextMode::isolated);
  EXPECT_TRUE(*p->enabled);
  EXPECT_FALSE(p->time_zone);
  EXPECT_FALSE(p->retry);
}

TEST(TaskModel, ParsesEveryOptionalField) {
  auto p = parse_task_patch(
      R"({"name":"n","group":"g","prompt":"p","schedule":{"type":"interval","value":60000},)"
      R"("containerConfig":{"timeoutSecs":0,"image":"agent:2"},"contextMode":"group","catchUp":"skip",)"
      R"("timeZone":"Europe/Berlin","announce":"tg:42","retry":{"maxAttempts":3,"backoffMs":2000},"status":"paused"})",
      true);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->schedule->type, ScheduleType::interval);
  EXPECT_EQ(p->schedule->value, "60000");  // a number becomes the stored text
  EXPECT_EQ(*p->timeout_secs, 0);
  EXPECT_EQ(*p->image, "agent:2");
  EXPECT_EQ(*p->context_mode, ContextMode::group);
  EXPECT_EQ(*p->catch_up, CatchUpPolicy::skip);
  EXPECT_EQ(*p->time_zone, "Europe/Berlin");
  EXPECT_EQ(*p->announce_jid, "tg:42");
  EXPECT_EQ(p->retry->max_attempts, 3);
  EXPECT_EQ(p->retry->backoff_ms, 2000);
  EXPECT_FALSE(*p->enabled);
}

TEST(TaskModel, CreateNeedsItsFields) {
  EXPECT_EQ(error_of(R"({"group":"g","prompt":"p","schedule":{"type":"once","value":"2030-01-01T00:00:00Z"}})"),
            "invalid_field name: required");
  EXPECT_EQ(error_of(R"({"name":"n","prompt":"p","schedule":{"type":"interval","value":"1000"}})"),
            "invalid_field group: required (a namespace name or id)");
  EXPECT_EQ(error_of(R"({"name":"n","group":"g","schedule":{"type":"interval","value":"1000"}})"),
            "invalid_field prompt: required");
  EXPECT_NE(error_of(R"({"name":"n","group":"g","prompt":"p"})").find("invalid_field schedule: required"),
            std::string::npos);
  // PATCH needs none of them, but something.
  EXPECT_EQ(error_of(R"({"prompt":"new"})", false), "ok");
  EXPECT_EQ(error_of("{}", false), "invalid_field body: nothing to change");
}

TEST(TaskModel, BadInputNamesTheField) {
  struct Case {
    const char* body;
    const char* expected;
  };
  const Case cases[] = {
      {"not json", "invalid_json body: malformed JSON"},
      {"[1]", "invalid_json body: must be a JSON object"},
      {R"({"nmae":"x"})", "invalid_field nmae: unknown field"},
      {R"({"name":""})", "invalid_field name: must not be empty"},
      {R"({"name":7})", "invalid_field name: must be a string"},
      {R"({"name":"a\nb"})", "invalid_field name: must not contain control characters"},
      {R"({"group":""})", "invalid_field group: must name a namespace"},
      {R"({"schedule":"0 9 * * *"})", "invalid_field schedule: must be an object"},
      {R"({"schedule":{"type":"hourly","value":"x"}})", "invalid_field schedule.type: must be cron, interval or once"},
      {R"({"schedule":{"value":"x"}})", "invalid_field schedule.type: required"},
      {R"({"schedule":{"type":"cron"}})", "invalid_field schedule.value: required"},
      {R"({"schedule":{"type":"cron","value":"* * * * *","tz":"x"}})", "invalid_field schedule.tz: unknown field"},
      {R"({"containerConfig":{"timeoutSecs":-1}})", "invalid_field containerConfig.timeoutSecs: must be an integer"},
      {R"({"containerConfig":{"timeoutSecs":"300"}})", "invalid_field containerConfig.timeoutSecs: must be an integer"},
      {R"({"containerConfig":{"mounts":[]}})", "invalid_field containerConfig.mounts: unknown field"},
      {R"({"containerConfig":{"image":"a b"}})", "invalid_field containerConfig.image: must not contain spaces"},
      {R"({"contextMode":"shared"})", "invalid_field contextMode: must be group or isolated"},
      {R"({"catchUp":"all"})", "invalid_field catchUp: must be once or skip"},
      {R"({"timeZone":"Mars/Olympus"})", "invalid_field timeZone: "},
      {R"({"announce":"nowhere"})", "invalid_field announce: "},
      {R"({"retry":{"maxAttempts":100}})",
       "invalid_field retry.maxAttempts: must be an integer number of attempts from 0 to 20"},
      {R"({"retry":{"backoffMs":1}})", "invalid_field retry.backoffMs: must be an integer"},
      {R"({"enabled":"yes"})", "invalid_field enabled: must be true or false"},
      {R"({"status":"completed"})", "invalid_field status: can be set to active or paused"},
      {R"({"status":"paused","enabled":true})", "invalid_field enabled: contradicts status"},
  };
  for (const auto& c : cases) {
    const std::string got = error_of(c.body, false);
    EXPECT_EQ(got.rfind(c.expected, 0), 0u) << c.body << " -> " << got;
  }
}

TEST(TaskModel, CronErrorsNameTheCronField) {
  auto tz = TimeZone::utc();
  auto bad = compile_task_schedule(ScheduleSpec{ScheduleType::cron, "61 * * * *"}, tz);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "invalid_field");
  EXPECT_EQ(bad.error().message.rfind("schedule.value: cron: ", 0), 0u) << bad.error().message;
  EXPECT_NE(bad.error().message.find("minute"), std::string::npos) << bad.error().message;

  auto dow = compile_task_schedule(ScheduleSpec{ScheduleType::cron, "0 9 * * 8"}, tz);
  ASSERT_FALSE(dow);
  EXPECT_NE(dow.error().message.find("day-of-week"), std::string::npos) << dow.error().message;

  auto interval = compile_task_schedule(ScheduleSpec{ScheduleType::interval, "soon"}, tz);
  ASSERT_FALSE(interval);
  EXPECT_EQ(interval.error().message.rfind("schedule.value: interval: ", 0), 0u) << interval.error().message;
}

TEST(TaskModel, NextRunFollowsTheZoneAndTheGrid) {
  auto berlin = resolve_time_zone("Europe/Berlin");
  ASSERT_TRUE(berlin);
  auto daily = compile_task_schedule(ScheduleSpec{ScheduleType::cron, "0 9 * * *"}, *berlin);
  ASSERT_TRUE(daily);
  const int64_t now = iso_ms("2026-03-01T10:00:00Z");
  EXPECT_EQ(plan_next_run(*daily, *berlin, now, now), iso_ms("2026-03-02T08:00:00Z"));  // 09:00 CET

  // An interval stays on anchor + k*period, whatever "now" is.
  auto every = compile_task_schedule(ScheduleSpec{ScheduleType::interval, "60000"}, TimeZone::utc());
  ASSERT_TRUE(every);
  const int64_t anchor = iso_ms("2026-03-01T10:00:00Z");
  EXPECT_EQ(plan_next_run(*every, TimeZone::utc(), anchor, anchor + 150'000), anchor + 180'000);

  // A once time that is past has no next run; one without an offset is read in the zone.
  auto once = compile_task_schedule(ScheduleSpec{ScheduleType::once, "2026-03-01T12:00:00"}, *berlin);
  ASSERT_TRUE(once);
  EXPECT_EQ(plan_next_run(*once, *berlin, now, now), iso_ms("2026-03-01T11:00:00Z"));
  EXPECT_EQ(plan_next_run(*once, *berlin, now, iso_ms("2026-03-01T11:00:00Z")), std::nullopt);
}

TEST(TaskModel, ExcerptCutsOnACharacterBoundary) {
  EXPECT_EQ(excerpt("short"), "short");
  const std::string big(5000, 'x');
  EXPECT_EQ(excerpt(big).size(), kMaxResultExcerptBytes);
  // 2-byte characters: the cut never leaves half of one.
  std::string umlauts;
  for (int i = 0; i < 600; ++i) umlauts += "\xC3\xA4";
  const std::string cut = excerpt(umlauts);
  EXPECT_LE(cut.size(), kMaxResultExcerptBytes);
  EXPECT_EQ(cut.substr(cut.size() - 3), "\xE2\x80\xA6");
  EXPECT_EQ((cut.size() - 3) % 2, 0u);
}

TEST(TaskModel, JsonIsTheProductShape) {
  Task t;
  t.id = "0b1f2a34-0000-4000-8000-000000000001";
  t.name = "report \"weekly\"";
  t.namespace_id = "ns-id";
  t.namespace_name = "main";
  t.prompt = "p";
  t.schedule = ScheduleSpec{ScheduleType::cron, "0 9 * * 1"};
  t.status = TaskStatus::paused;
  t.next_run_ms.reset();
  t.created_at_ms = t.updated_at_ms = iso_ms("2026-01-01T00:00:00Z");
  rapidjson::Document doc;
  doc.Parse(task_json(t).c_str());
  ASSERT_FALSE(doc.HasParseError()) << task_json(t);
  EXPECT_STREQ(doc["name"].GetString(), "report \"weekly\"");
  EXPECT_STREQ(doc["group"].GetString(), "main");
  EXPECT_STREQ(doc["schedule"]["type"].GetString(), "cron");
  EXPECT_EQ(doc["containerConfig"]["timeoutSecs"].GetInt64(), 300);
  EXPECT_FALSE(doc["containerConfig"].HasMember("image"));
  EXPECT_FALSE(doc["enabled"].GetBool());
  EXPECT_STREQ(doc["status"].GetString(), "paused");
  EXPECT_STREQ(doc["catchUp"].GetString(), "once");
  EXPECT_STREQ(doc["timeZone"].GetString(), "UTC");
  EXPECT_TRUE(doc["announce"].IsNull());
  EXPECT_EQ(doc["retry"]["maxAttempts"].GetInt64(), 0);
  EXPECT_TRUE(doc["nextRun"].IsNull());
  EXPECT_TRUE(doc["lastRun"].IsNull());
  EXPECT_STREQ(doc["createdAt"].GetString(), "2026-01-01T00:00:00.000Z");

  TaskRun r;
  r.id = 7;
  r.task_id = t.id;
  r.started_at_ms = t.created_at_ms;
  r.duration_ms = 1500;
  r.status = RunStatus::error;
  r.error = "exit 1";
  rapidjson::Document run;
  run.Parse(runs_json({r}).c_str());
  ASSERT_TRUE(run.IsArray());
  EXPECT_EQ(run[0]["durationMs"].GetInt64(), 1500);
  EXPECT_STREQ(run[0]["status"].GetString(), "error");
  EXPECT_STREQ(run[0]["error"].GetString(), "exit 1");
  EXPECT_STREQ(run[0]["trigger"].GetString(), "schedule");
}

}  // namespace
}  // namespace sb::schedule
