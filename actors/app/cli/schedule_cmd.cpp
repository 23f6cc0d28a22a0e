// squadbox schedule add|list|show|pause|resume|rm|run|runs: scheduled tasks through the
// running node's admin API (docs/scheduling.md).
#include <cctype>
#include <iostream>
#include <memory>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/app/cli/commands.hpp"
#include "actors/app/cli/duration.hpp"
#include "actors/app/cli/json_call.hpp"

namespace sb::app::cli {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr const char* kSchedules = "/api/v1/container/schedules";

std::string str(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return "";
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : "-";
}

std::string schedule_text(const rapidjson::Value& t) {
  if (!t.IsObject() || !t.HasMember("schedule") || !t["schedule"].IsObject()) return "-";
  return str(t["schedule"], "type") + " " + str(t["schedule"], "value");
}

void print_task_line(const rapidjson::Value& t) {
  std::cout << str(t, "id") << "\t" << str(t, "name") << "\t" << str(t, "group") << "\t" << str(t, "status") << "\t"
            << schedule_text(t) << "\tnext " << str(t, "nextRun") << "\n";
}

struct Args {
  std::string name, group, prompt, cron, every, at, image, context, catch_up, tz, announce, id, status;
  int64_t timeout_secs = -1;
  int64_t retry = -1;
  std::string retry_backoff;
  bool paused = false, json = false;
  int limit = 20;
};

// The POST body of `schedule add`, or a usage message.
Result<std::string> add_body(const Args& a) {
  const int kinds = !a.cron.empty() + !a.every.empty() + !a.at.empty();
  if (kinds != 1) return make_error("usage", "give exactly one of --cron, --every, --at");
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("name");
  w.String(a.name.c_str());
  w.Key("group");
  w.String(a.group.c_str());
  w.Key("prompt");
  w.String(a.prompt.c_str());
  w.Key("schedule");
  w.StartObject();
  w.Key("type");
  if (!a.cron.empty()) {
    w.String("cron");
    w.Key("value");
    w.String(a.cron.c_str());
  } else if (!a.every.empty()) {
    auto period = parse_duration(a.every);
    if (!period || period->count() <= 0) return make_error("usage", "--every: a duration such as 90s, 30m, 1h");
    w.String("interval");
    w.Key("value");
    w.String(std::to_string(period->count()).c_str());
  } else {
    w.String("once");
    w.Key("value");
    w.String(a.at.c_str());
  }
  w.EndObject();
  if (a.timeout_secs >= 0 || !a.image.empty()) {
    w.Key("containerConfig");
    w.StartObject();
    if (a.timeout_secs >= 0) {
      w.Key("timeoutSecs");
      w.Int64(a.timeout_secs);
    }
    if (!a.image.empty()) {
      w.Key("image");
      w.String(a.image.c_str());
    }
    w.EndObject();
  }
  if (!a.context.empty()) {
    w.Key("contextMode");
    w.String(a.context.c_str());
  }
  if (!a.catch_up.empty()) {
    w.Key("catchUp");
    w.String(a.catch_up.c_str());
  }
  if (!a.tz.empty()) {
    w.Key("timeZone");
    w.String(a.tz.c_str());
  }
  if (!a.announce.empty()) {
    w.Key("announce");
    w.String(a.announce.c_str());
  }
  if (a.retry >= 0) {
    w.Key("retry");
    w.StartObject();
    w.Key("maxAttempts");
    w.Int64(a.retry);
    if (!a.retry_backoff.empty()) {
      auto backoff = parse_duration(a.retry_backoff);
      if (!backoff) return make_error("usage", "--retry-backoff: a duration such as 5s, 1m");
      w.Key("backoffMs");
      w.Int64(backoff->count());
    }
    w.EndObject();
  }
  if (a.paused) {
    w.Key("enabled");
    w.Bool(false);
  }
  w.EndObject();
  return std::string(buf.GetString());
}

void add_id(CLI::App* cmd, Args& a) {
  cmd->add_option("id", a.id, "Task id (from `schedule list`)")->required();
}

void add_state_change(CLI::App* schedule, CliContext& ctx, std::shared_ptr<Args> a, const char* name, const char* help,
                      bool enabled) {
  auto* cmd = schedule->add_subcommand(name, help);
  add_id(cmd, *a);
  add_client(cmd, ctx);
  cmd->callback([&ctx, a, enabled] {
    ctx.exit_code = call_json(ctx, "PATCH", std::string(kSchedules) + "/" + percent_encode(a->id),
                              enabled ? R"({"enabled":true})" : R"({"enabled":false})",
                              [](const rapidjson::Document& d, const ClientResponse&) {
                                std::cout << str(d, "id") << " " << str(d, "status") << ", next run "
                                          << str(d, "nextRun") << "\n";
                              });
  });
}

}  // namespace

void add_schedule_commands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<Args>();
  auto* schedule = app.add_subcommand("schedule", "Scheduled tasks (cron, interval, once) of a running node");
  schedule->require_subcommand(1);

  auto* add = schedule->add_subcommand("add", "Create a scheduled task");
  add->add_option("name", a->name, "Task name")->required();
  add->add_option("--group", a->group, "Namespace (name or id) the task runs in")->required();
  add->add_option("--prompt", a->prompt, "What the agent is asked to do")->required();
  add->add_option("--cron", a->cron, "Cron expression, e.g. \"0 9 * * 1-5\" or @daily");
  add->add_option("--every", a->every, "Interval, e.g. 90s, 30m, 1h (anchored: no drift)");
  add->add_option("--at", a->at, "Once, ISO-8601 (without an offset: in the task's zone)");
  add->add_option("--tz", a->tz, "IANA time zone (default: the node's)");
  add->add_option("--timeout-secs", a->timeout_secs, "Container time limit, 0 = none (default 300)");
  add->add_option("--image", a->image, "Container image (default: the namespace's)");
  add->add_option("--context", a->context, "group (the group's session) or isolated (fresh)")
      ->check(CLI::IsMember({"group", "isolated"}));
  add->add_option("--catch-up", a->catch_up, "Missed runs while down: once or skip")
      ->check(CLI::IsMember({"once", "skip"}));
  add->add_option("--announce", a->announce, "Chat JID that gets the result, e.g. tg:42");
  add->add_option("--retry", a->retry, "Extra attempts after a failure (default 0 = none)");
  add->add_option("--retry-backoff", a->retry_backoff, "First retry delay, doubled per attempt (e.g. 5s)");
  add->add_flag("--paused", a->paused, "Create it paused");
  add_client(add, ctx);
  add->callback([&ctx, a] {
    auto body = add_body(*a);
    if (!body) {
      std::cerr << "squadbox: schedule add: " << body.error().message << "\n";
      ctx.exit_code = kExitUsage;
      return;
    }
    ctx.exit_code = call_json(ctx, "POST", kSchedules, *body, [](const rapidjson::Document& d, const ClientResponse&) {
      std::cout << "created " << str(d, "name") << " " << str(d, "id") << ", next run " << str(d, "nextRun") << "\n";
    });
  });

  auto* list = schedule->add_subcommand("list", "List tasks: id, name, group, status, schedule, next run");
  list->add_option("--group", a->group, "Only this namespace (name or id)");
  list->add_option("--status", a->status, "Only this status")
      ->check(CLI::IsMember({"active", "paused", "completed", "failed"}));
  list->add_flag("--json", a->json, "Print the API answer");
  add_client(list, ctx);
  list->callback([&ctx, a] {
    std::string path = kSchedules;
    std::string sep = "?";
    if (!a->group.empty()) {
      path += sep + "group=" + percent_encode(a->group);
      sep = "&";
    }
    if (!a->status.empty()) path += sep + "status=" + a->status;
    ctx.exit_code = call_json(ctx, "GET", path, "", [a](const rapidjson::Document& d, const ClientResponse& r) {
      if (a->json || !d.IsArray()) {
        std::cout << r.body << "\n";
        return;
      }
      for (const auto& t : d.GetArray()) print_task_line(t);
    });
  });

  auto* show = schedule->add_subcommand("show", "Show one task as JSON");
  add_id(show, *a);
  add_client(show, ctx);
  show->callback([&ctx, a] {
    ctx.exit_code = call_json(ctx, "GET", std::string(kSchedules) + "/" + percent_encode(a->id), "",
                              [](const rapidjson::Document&, const ClientResponse& r) { std::cout << r.body << "\n"; });
  });

  add_state_change(schedule, ctx, a, "pause", "Pause a task (no runs until resumed)", false);
  add_state_change(schedule, ctx, a, "resume", "Resume a task (next run computed from now)", true);

  auto* rm = schedule->add_subcommand("rm", "Remove a task and its run log");
  add_id(rm, *a);
  add_client(rm, ctx);
  rm->callback([&ctx, a] {
    ctx.exit_code =
        call_json(ctx, "DELETE", std::string(kSchedules) + "/" + percent_encode(a->id), "",
                  [a](const rapidjson::Document&, const ClientResponse&) { std::cout << "removed " << a->id << "\n"; });
  });

  auto* run = schedule->add_subcommand("run", "Ask for a run now (the scheduler starts it)");
  add_id(run, *a);
  add_client(run, ctx);
  run->callback([&ctx, a] {
    ctx.exit_code = call_json(
        ctx, "POST", std::string(kSchedules) + "/" + percent_encode(a->id) + "/run", "",
        [a](const rapidjson::Document&, const ClientResponse&) { std::cout << "run requested for " << a->id << "\n"; });
  });

  auto* runs = schedule->add_subcommand("runs", "A task's run log, newest first");
  add_id(runs, *a);
  runs->add_option("--limit", a->limit, "At most this many runs (1-1000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  runs->add_flag("--json", a->json, "Print the API answer");
  add_client(runs, ctx);
  runs->callback([&ctx, a] {
    ctx.exit_code = call_json(
        ctx, "GET", std::string(kSchedules) + "/" + percent_encode(a->id) + "/runs?limit=" + std::to_string(a->limit),
        "", [a](const rapidjson::Document& d, const ClientResponse& r) {
          if (a->json || !d.IsArray()) {
            std::cout << r.body << "\n";
            return;
          }
          for (const auto& run : d.GetArray()) {
            const bool has_ms = run.HasMember("durationMs") && run["durationMs"].IsInt64();
            std::cout << str(run, "startedAt") << "\t" << str(run, "trigger") << "\t" << str(run, "status") << "\t"
                      << (has_ms ? std::to_string(run["durationMs"].GetInt64()) + " ms" : "-") << "\t"
                      << (str(run, "error") != "-" ? str(run, "error") : str(run, "result")) << "\n";
          }
        });
  });
}

}  // namespace sb::app::cli
