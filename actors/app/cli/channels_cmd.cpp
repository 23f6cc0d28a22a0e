// squadbox channels list|send and squadbox outbox list (docs/channels.md, "Outbound
// delivery"): thin clients of the running node's admin API.
#include <iostream>
#include <memory>
#include <string>

#include "actors/app/cli/commands.hpp"
#include "runtime/http/message.hpp"

namespace sb::app::cli {
namespace {

struct SendArgs {
  std::string bot;
  std::string chat_jid;
  std::string text;
  std::string reply_to;
};

struct OutboxListArgs {
  std::string state;
  std::string bot;
  int limit = 100;
};

// Prints the body; 2xx -> 0, a refused request (4xx) -> usage error, else runtime error.
int finish(const std::variant<ClientResponse, int>& r) {
  if (auto* code = std::get_if<int>(&r)) return *code;
  const auto& resp = std::get<ClientResponse>(r);
  (resp.status / 100 == 2 ? std::cout : std::cerr) << resp.body << (resp.body.ends_with("\n") ? "" : "\n");
  if (resp.status / 100 == 2) return kExitOk;
  return resp.status / 100 == 4 ? kExitUsage : kExitRuntime;
}

int run_send(const CliContext& ctx, const SendArgs& a) {
  std::string body = "{\"bot\":\"" + http::json_escape(a.bot) + "\",\"chatJid\":\"" + http::json_escape(a.chat_jid) +
                     "\",\"text\":\"" + http::json_escape(a.text) + "\"";
  if (!a.reply_to.empty()) body += ",\"replyTo\":\"" + http::json_escape(a.reply_to) + "\"";
  body += "}";
  return finish(call_node(ctx, {"POST", "/api/v1/container/outbox", body, std::chrono::seconds(10)}));
}

int run_outbox_list(const CliContext& ctx, const OutboxListArgs& a) {
  std::string path = "/api/v1/container/outbox?limit=" + std::to_string(a.limit);
  if (!a.state.empty()) path += "&state=" + percent_encode(a.state, "-_./");
  if (!a.bot.empty()) path += "&bot=" + percent_encode(a.bot, "-_./");
  return finish(call_node(ctx, {"GET", path, "", std::chrono::seconds(10)}));
}

}  // namespace

void add_channels_commands(CLI::App& app, CliContext& ctx) {
  auto* channels = app.add_subcommand("channels", "Chat channel bots of the running node");
  channels->require_subcommand(1);

  auto* list = channels->add_subcommand("list", "List the configured bots (JSON)");
  add_client(list, ctx);
  list->callback([&ctx] { ctx.exit_code = print_get(ctx, "/api/v1/container/channels"); });

  auto send_args = std::make_shared<SendArgs>();
  auto* send = channels->add_subcommand("send", "Queue a message for delivery through a bot (prints the outbox ids)");
  send->add_option("bot", send_args->bot, "Bot id, e.g. slack/main")->required();
  send->add_option("chat", send_args->chat_jid, "Chat JID, e.g. slack:C0123, dc:123, wa:4915..., tg:-100...")
      ->required();
  send->add_option("text", send_args->text, "Message text (split at the platform's limit)")->required();
  send->add_option("--reply-to", send_args->reply_to,
                   "Slack thread_ts, Telegram message_id, WhatsApp message id or Discord interaction token");
  add_client(send, ctx);
  send->callback([&ctx, send_args] { ctx.exit_code = run_send(ctx, *send_args); });

  auto* outbox = app.add_subcommand("outbox", "The persistent outbox of the running node");
  outbox->require_subcommand(1);
  auto list_args = std::make_shared<OutboxListArgs>();
  auto* outbox_list = outbox->add_subcommand("list", "List outbox rows, newest first (JSON)");
  outbox_list->add_option("--state", list_args->state, "pending, sent or failed")
      ->check(CLI::IsMember({"pending", "sent", "failed"}));
  outbox_list->add_option("--bot", list_args->bot, "Only this bot, e.g. slack/main");
  outbox_list->add_option("-n,--limit", list_args->limit, "At most this many rows")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  add_client(outbox_list, ctx);
  outbox_list->callback([&ctx, list_args] { ctx.exit_code = run_outbox_list(ctx, *list_args); });
}

}  // namespace sb::app::cli
