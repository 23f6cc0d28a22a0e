#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/ (docs/fuzzing.md). The seeds are checked in;
run this again only to change them. The webhook HTTP seeds are signed with the fixed test
secrets of fuzz/common/fuzz_bots.hpp (Discord's Ed25519 signature through node)."""
import hashlib, hmac, json, os, subprocess, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
TS = "1700000000"
SLACK_SECRET = b"fuzz-slack-signing-secret"
WHATSAPP_SECRET = b"fuzz-whatsapp-app-secret"
TELEGRAM_SECRET = "fuzz_secret_token"


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def j(o):
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False)


# ---- platform bodies --------------------------------------------------------------------
slack_event = j({"type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event_time": 1700000000,
                 "event": {"type": "message", "channel": "C1", "user": "U1", "text": "hello &lt;world&gt;",
                           "ts": "1700000000.000100", "channel_type": "channel"}})
slack_thread = j({"type": "event_callback", "team_id": "T1", "event_id": "Ev2",
                  "event": {"type": "message", "channel": "D1", "user": "U2", "text": "<@U0FUZZBOT> hi",
                            "ts": "1700000001.000200", "thread_ts": "1700000000.000100", "channel_type": "im"}})
slack_subtype = j({"type": "event_callback", "event_id": "Ev3",
                   "event": {"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "1.2"}})
slack_challenge = j({"type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
slack_form = ("token=x&team_id=T1&channel_id=C1&channel_name=general&user_id=U1&user_name=ann"
              "&command=%2Fask&text=what+is+up%3F&trigger_id=13345224609.738474920.8088930838d88f008e0"
              "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1")
discord_ping = j({"type": 1, "id": "1100000000000000001", "application_id": "1100000000000000000", "token": "t"})
discord_command = j({"type": 2, "id": "1100000000000000002", "application_id": "1100000000000000000",
                     "token": "aW50ZXJhY3Rpb24tdG9rZW4", "channel_id": "1100000000000000003",
                     "guild_id": "1100000000000000004",
                     "member": {"user": {"id": "1100000000000000005", "username": "ann"}},
                     "data": {"id": "1100000000000000006", "name": "ask", "type": 1,
                              "options": [{"name": "question", "type": 3, "value": "hello there"}]}})
discord_sub = j({"type": 2, "id": "1100000000000000007", "application_id": "1100000000000000000", "token": "t",
                 "channel_id": "1100000000000000003", "user": {"id": "1100000000000000005", "username": "ann"},
                 "data": {"id": "1", "name": "agent", "type": 1,
                          "options": [{"name": "run", "type": 1, "options": [
                              {"name": "task", "type": 3, "value": "build"}, {"name": "n", "type": 4, "value": 3}]}]}})
discord_component = j({"type": 3, "id": "1100000000000000008", "application_id": "1100000000000000000", "token": "t",
                       "data": {"custom_id": "b1", "component_type": 2}})
tg_message = j({"update_id": 10, "message": {"message_id": 5, "date": 1700000000,
                                             "chat": {"id": -1001, "type": "supergroup", "title": "team"},
                                             "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
                                             "text": "@fuzzbot hello", "entities": [{"type": "mention", "offset": 0, "length": 8}]}})
tg_private = j({"update_id": 11, "message": {"message_id": 6, "date": 1700000000,
                                             "chat": {"id": 42, "type": "private"},
                                             "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
                                             "text": "/start@fuzzbot now", "entities": [{"type": "bot_command", "offset": 0, "length": 14}],
                                             "reply_to_message": {"message_id": 4, "date": 1699999999,
                                                                  "chat": {"id": 42, "type": "private"},
                                                                  "from": {"id": 123456, "is_bot": True, "first_name": "Bot"}}}})
tg_edited = j({"update_id": 12, "edited_message": {"message_id": 5, "date": 1700000000,
                                                   "chat": {"id": 42, "type": "private"}, "text": "x"}})
tg_updates = j({"ok": True, "result": [json.loads(tg_message), json.loads(tg_edited),
                                       {"update_id": 13, "channel_post": {"message_id": 1, "chat": {"id": -5, "type": "channel"}}}]})
wa_message = j({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": {
    "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1234567890"},
    "contacts": [{"profile": {"name": "Ann"}, "wa_id": "15551234567"}],
    "messages": [{"from": "15551234567", "id": "wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQUE=", "timestamp": "1700000000",
                  "type": "text", "text": {"body": "hello"}},
                 {"from": "15551234567", "id": "wamid.2", "timestamp": "1700000001", "type": "image",
                  "image": {"id": "i1"}}]}}]}]})
wa_status = j({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": {
    "messaging_product": "whatsapp", "metadata": {"phone_number_id": "1234567890"},
    "statuses": [{"id": "wamid.1", "status": "delivered", "timestamp": "1700000000", "recipient_id": "15551234567"}]}}]}]})
wa_query = "hub.mode=subscribe&hub.verify_token=fuzz-verify-token&hub.challenge=1158201444"

S, V = b"\x00", b"\x02"  # byte 0: signed, signed variant 1 (webhook_input.hpp)
put("slack_fuzz", "event_message", S + slack_event.encode())
put("slack_fuzz", "event_thread_mention", S + slack_thread.encode())
put("slack_fuzz", "event_subtype", S + slack_subtype.encode())
put("slack_fuzz", "url_verification", S + slack_challenge.encode())
put("slack_fuzz", "slash_command", V + slack_form.encode())
put("slack_fuzz", "raw_headers", b"\x01" + b"\x01\x00\x03\x00" + TS.encode() + b"\x01\x01v0=00\x00\x00" + slack_event.encode())
put("discord_fuzz", "ping", S + discord_ping.encode())
put("discord_fuzz", "command", S + discord_command.encode())
put("discord_fuzz", "subcommand", S + discord_sub.encode())
put("discord_fuzz", "component", S + discord_component.encode())
put("discord_fuzz", "raw_headers", b"\x01" + b"\x01\x00\x02\x00" + b"ab" * 64 + b"\x01\x01" + TS.encode() + b"\x00" + discord_ping.encode())
put("telegram_fuzz", "message_mention", S + tg_message.encode())
put("telegram_fuzz", "private_command_reply", S + tg_private.encode())
put("telegram_fuzz", "edited", S + tg_edited.encode())
put("telegram_fuzz", "get_updates", S + tg_updates.encode())
put("telegram_fuzz", "raw_headers", b"\x01" + b"\x01\x00\x01\x00" + TELEGRAM_SECRET.encode() + b"\x00" + tg_message.encode())
put("whatsapp_fuzz", "text_and_image", S + wa_message.encode())
put("whatsapp_fuzz", "status", S + wa_status.encode())
put("whatsapp_fuzz", "subscribe", V + wa_query.encode())
put("whatsapp_fuzz", "raw_headers", b"\x01" + b"\x01\x00\x01\x00sha256=00\x00" + wa_message.encode())


# ---- raw HTTP to the webhook listener ------------------------------------------------------
def http(method, path, headers, body=""):
    lines = [f"{method} {path} HTTP/1.1", "Host: hooks.example"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def slack_sig(body):
    return "v0=" + hmac.new(SLACK_SECRET, f"v0:{TS}:{body}".encode(), hashlib.sha256).hexdigest()


def discord_sig(body):
    script = ("const c=require('crypto');const seed=Buffer.alloc(32,0x42);"
              "const k=c.createPrivateKey({key:Buffer.concat([Buffer.from('302e020100300506032b657004220420','hex'),seed]),format:'der',type:'pkcs8'});"
              "process.stdout.write(c.sign(null,Buffer.from(process.argv[1]),k).toString('hex'))")
    return subprocess.run(["node", "-e", script, TS + body], check=True, capture_output=True, text=True).stdout


put("webhook_http_fuzz", "slack_event", http("POST", "/webhooks/slack/main", [
    ("Content-Type", "application/json"), ("X-Slack-Request-Timestamp", TS), ("X-Slack-Signature", slack_sig(slack_event))], slack_event))
put("webhook_http_fuzz", "slack_challenge", http("POST", "/webhooks/slack/main", [
    ("Content-Type", "application/json"), ("X-Slack-Request-Timestamp", TS), ("X-Slack-Signature", slack_sig(slack_challenge))], slack_challenge))
put("webhook_http_fuzz", "slack_slash", http("POST", "/webhooks/slack/main", [
    ("Content-Type", "application/x-www-form-urlencoded"), ("X-Slack-Request-Timestamp", TS), ("X-Slack-Signature", slack_sig(slack_form))], slack_form))
put("webhook_http_fuzz", "discord_command", http("POST", "/webhooks/discord/main", [
    ("Content-Type", "application/json"), ("X-Signature-Ed25519", discord_sig(discord_command)), ("X-Signature-Timestamp", TS)], discord_command))
put("webhook_http_fuzz", "telegram_message", http("POST", "/webhooks/telegram/main", [
    ("Content-Type", "application/json"), ("X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET)], tg_message))
wa_sig = "sha256=" + hmac.new(WHATSAPP_SECRET, wa_message.encode(), hashlib.sha256).hexdigest()
put("webhook_http_fuzz", "whatsapp_message", http("POST", "/webhooks/whatsapp/main", [
    ("Content-Type", "application/json"), ("X-Hub-Signature-256", wa_sig)], wa_message))
put("webhook_http_fuzz", "whatsapp_subscribe", http("GET", "/webhooks/whatsapp/main?" + wa_query, []))
put("webhook_http_fuzz", "unknown_bot_keepalive_pipelined",
    http("POST", "/webhooks/slack/other", [("Content-Type", "application/json")], "{}") +
    http("GET", "/webhooks/irc/main", []) + http("DELETE", "/", [("Connection", "close")]))
put("webhook_http_fuzz", "chunked_expect_continue",
    b"POST /webhooks/telegram/main HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n"
    b"X-Telegram-Bot-Api-Secret-Token: fuzz_secret_token\r\n\r\n5\r\n{\"upd\r\n0\r\n\r\n")
put("webhook_http_fuzz", "http10_bad_header", b"POST /webhooks/slack/main HTTP/1.0\r\nBad Header\r\n\r\n")

# ---- IPC: host side (byte 0: bit 0 tasks/, bit 1 main group, bit 2 through the watcher) ----
put("ipc_host_fuzz", "message", b"\x04" + j({"type": "message", "text": "hi there", "inReplyTo": "m-1"}).encode())
put("ipc_host_fuzz", "message_other_chat", b"\x00" + j({"type": "message", "text": "x", "chatJid": "tg:42"}).encode())
put("ipc_host_fuzz", "turn_done_error", b"\x00" + j({"type": "turn_done", "inReplyTo": "m-1", "status": "error", "error": "boom"}).encode())
put("ipc_host_fuzz", "schedule_cron", b"\x05" + j({"type": "schedule_task", "prompt": "daily report", "schedule_type": "cron",
                                                   "schedule_value": "0 9 * * 1-5", "context_mode": "group", "targetJid": "tg:42"}).encode())
put("ipc_host_fuzz", "schedule_once_main", b"\x03" + j({"type": "schedule_task", "prompt": "remind me", "schedule_type": "once",
                                                        "schedule_value": "2026-03-08T09:30:00+02:00"}).encode())
put("ipc_host_fuzz", "update_task", b"\x01" + j({"type": "update_task", "taskId": "t-team", "schedule_type": "interval",
                                                 "schedule_value": "3600000"}).encode())
put("ipc_host_fuzz", "pause_task", b"\x01" + j({"type": "pause_task", "taskId": "t-main"}).encode())
put("ipc_host_fuzz", "register_group", b"\x03" + j({"type": "register_group", "name": "ops", "jid": "slack:C9", "description": "ops"}).encode())
put("ipc_host_fuzz", "wrong_dir", b"\x04" + j({"type": "schedule_task", "prompt": "p"}).encode())

# ---- IPC: agent side (byte 0: max_bytes choice, bit 2 error reply; 0xff parse_command) ----
put("agent_ipc_fuzz", "input", b"\x00" + j({"type": "message", "id": "m-1", "text": "hello", "chatJid": "tg:42"}).encode())
put("agent_ipc_fuzz", "input_small_limit", b"\x03" + j({"type": "message", "id": "m-2", "text": "é" * 60}).encode())
put("agent_ipc_fuzz", "input_error_reply", b"\x05" + j({"type": "message", "id": "m-3", "text": "quote \" and \\ and \n"}).encode())
put("agent_ipc_fuzz", "command", b"\xff" + j(["/bin/sh", "-c", "tr a-z A-Z"]).encode())

# ---- model responses (byte 0: bit 0 history file, else HTTP response in chunks of byte0>>1) ----
msg = j({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
         "content": [{"type": "text", "text": "Hello!"}, {"type": "tool_use", "id": "t", "name": "x", "input": {}},
                     {"type": "text", "text": " Bye."}], "stop_reason": "end_turn",
         "usage": {"input_tokens": 10, "output_tokens": 5}})
err = j({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})
put("llm_response_fuzz", "messages_200", b"\x00" + f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(msg)}\r\n\r\n{msg}".encode())
put("llm_response_fuzz", "messages_chunked_split", b"\x0e" + (
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    f"{len(msg[:40]):x};ext=1\r\n{msg[:40]}\r\n{len(msg[40:]):x}\r\n{msg[40:]}\r\n0\r\nx-trailer: 1\r\n\r\n").encode())
put("llm_response_fuzz", "error_401", b"\x00" + f"HTTP/1.1 401 Unauthorized\r\ncontent-length: {len(err)}\r\n\r\n{err}".encode())
put("llm_response_fuzz", "until_eof_529", b"\x02" + b"HTTP/1.0 529 Overloaded\r\n\r\n{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}")
put("llm_response_fuzz", "history", b"\x01" + j({"version": 1, "chat": "tg:42", "messages": [
    {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
    {"role": "user", "content": "and?"}, {"role": "assistant", "content": "…"}]}).encode())

# ---- schedules (FuzzedDataProvider: byte 0 type/zone, 32 bytes of instants from the end) ----
inst = b"\x00" * 33  # instants and policy come from the end of the input
for name, pick, value in [("cron_weekdays", 0x00, "0 9 * * 1-5"), ("cron_names_steps", 0x08, "*/15 8-18/2 1,15 JAN-jun mon#x"),
                          ("cron_macro", 0x10, "@daily"), ("cron_dom_dow", 0x18, "30 2 29 2 SUN"),
                          ("interval", 0x01, "3600000"), ("once_offset", 0x02, "2026-03-08T09:30:00.250-05:00"),
                          ("once_local_gap", 0x0a, "2026-03-08T02:30"), ("zone_name", 0x04, "Europe/Kyiv")]:
    put("schedule_fuzz", name, bytes([pick]) + value.encode() + inst)

# ---- config ------------------------------------------------------------------------------
put("config_fuzz", "minimal", "[node]\ndata_dir = \"/var/lib/squadbox\"\n")
put("config_fuzz", "admin_log", "[admin]\nport = 8420\n\n[log]\nlevel = \"debug\"\nformat = \"json\"\n")
put("config_fuzz", "channels", "[channels.slack.main]\nsigning_secret = \"slack-signing\"\nbot_token = \"slack-token\"\n"
    "bot_user_id = \"U1\"\n\n[channels.telegram.tg]\nmode = \"polling\"\nbot_token = \"tg-token\"\n")
put("config_fuzz", "proxy_routes", "[proxy]\n[proxy.routes.anthropic]\nupstream = \"https://api.anthropic.com\"\n"
    "secret = \"anthropic-key\"\nheader = \"x-api-key\"\n")
put("config_fuzz", "bad_type", "[container]\nruntime = 7\n")

# ---- admin bodies (byte 0 % 12 picks the decoder, admin_bodies_fuzz.cpp) ------------------
for i, (name, body) in enumerate([
        ("namespace_post", {"name": "team", "description": "the team", "trigger": "@bot", "requiresTrigger": True,
                            "containerConfig": {"image": "squadbox/agent:1", "timeoutSecs": 600,
                                                "mounts": [{"hostPath": "/srv/data", "containerPath": "data", "readonly": True}],
                                                "env": ["TZ"]}}),
        ("namespace_patch", {"description": None, "isMain": False}),
        ("container_config", {"image": "x", "idleTimeoutSecs": 30, "mounts": [{"hostPath": "/a"}]}),
        ("mapping", {"jid": "slack:C1", "namespaceId": "team", "replace": True}),
        ("allowlist", {"mode": "list", "senders": ["U1", "U2"]}),
        ("senders", ["U1", "15551234567"]),
        ("routing", {"default": "namespace", "namespace": "team"}),
        ("task_post", {"name": "report", "group": "team", "prompt": "write it", "schedule": {"type": "cron", "value": "0 9 * * *"},
                       "timeZone": "Europe/Berlin", "contextMode": "group", "catchUp": "once", "timeoutSecs": 300,
                       "retry": {"maxAttempts": 3, "backoffSecs": 60}, "announceJid": "tg:42"}),
        ("task_patch", {"status": "paused", "enabled": False, "announceJid": None}),
        ("chat", {"text": "hello", "sender": "ann"}),
        ("secret", {"value": "s3cr3t"}),
        ("outbox", {"bot": "slack/main", "chatJid": "slack:C1", "text": "hi", "replyTo": "1700000000.000100"})]):
    put("admin_bodies_fuzz", name, bytes([i]) + j(body).encode())
print("seeds written under", ROOT)
