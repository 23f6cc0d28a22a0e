#include "runtime/agent/agent_loop.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include "runtime/core/utf8.hpp"

namespace sb::agent {

std::string cap_tool_output(std::string_view text, std::size_t max_bytes, std::size_t total_bytes) {
  std::string clean = utf8::sanitize(text);
  const std::size_t total = std::max(total_bytes, text.size());
  if (clean.size() <= max_bytes && total == text.size()) return clean;
  std::string out = utf8::truncate(clean, max_bytes);
  const std::size_t shown = out.size();
  out += "\n[... output truncated: " + std::to_string(shown) + " of " + std::to_string(total) + " bytes shown]";
  return out;
}

std::string failure_line(std::string_view what) {
  return "[squadbox] " + one_line(what, 300);
}

AgentLoop::AgentLoop(const ModelProtocol& protocol, LoopLimits limits, std::string system,
                     std::vector<ToolDefinition> tools, std::vector<std::string> history, std::string_view user_text,
                     std::function<Clock::time_point()> now)
    : protocol_(protocol),
      limits_(std::move(limits)),
      system_(std::move(system)),
      tools_(std::move(tools)),
      history_(std::move(history)),
      now_(std::move(now)),
      started_(now_()) {
  turn_.push_back(protocol_.user_message(user_text));
}

std::optional<std::chrono::milliseconds> AgentLoop::time_left() const {
  if (limits_.turn_timeout.count() <= 0) return std::nullopt;
  auto used = std::chrono::duration_cast<std::chrono::milliseconds>(now_() - started_);
  return std::max(std::chrono::milliseconds(0), limits_.turn_timeout - used);
}

loop::Fail AgentLoop::fail(std::string code, std::string line) const {
  return loop::Fail{make_error(std::move(code), failure_line(line))};
}

LoopAction AgentLoop::start() {
  return send();
}

LoopAction AgentLoop::send() {
  if (auto left = time_left(); left && left->count() == 0)
    return fail("llm.turn_timeout",
                "turn time limit (" + std::to_string(limits_.turn_timeout.count()) + " ms) reached");
  std::vector<std::string> messages;
  messages.reserve(history_.size() + turn_.size());
  messages.insert(messages.end(), history_.begin(), history_.end());
  messages.insert(messages.end(), turn_.begin(), turn_.end());
  ModelRequest req{limits_.model, limits_.max_tokens, system_, &tools_, &messages};
  return loop::Send{protocol_.encode_request(req)};
}

LoopAction AgentLoop::retry_or_fail(const std::string& what, std::optional<std::chrono::milliseconds> hint) {
  if (retries_ >= limits_.max_retries) {
    return fail("llm.upstream_error",
                "the model request failed after " + std::to_string(retries_ + 1) + " attempts: " + what);
  }
  ++retries_;
  auto delay = hint ? *hint : limits_.retry_base * (1 << std::min(retries_ - 1, 16));
  delay = std::min(delay, limits_.retry_cap);
  if (auto left = time_left(); left && delay >= *left)
    return fail("llm.turn_timeout",
                "the model request failed and the turn time limit leaves no time to retry: " + what);
  return loop::Wait{delay};
}

LoopAction AgentLoop::resume() {
  return send();
}

LoopAction AgentLoop::on_transport_error(const Error& error) {
  const std::string what = "credential proxy: " + error.message;
  if (is_retryable_transport(error)) return retry_or_fail(what, std::nullopt);
  return fail(error.code, "the model request failed: " + what);
}

LoopAction AgentLoop::on_response(int status, std::string_view body, const std::optional<std::string>& retry_after) {
  auto reply = protocol_.parse_response(status, body);
  if (!reply) {
    const Error& e = reply.error();
    if (e.code == "llm.upstream_error" && is_retryable_status(status)) {
      std::optional<std::chrono::milliseconds> hint;
      if (retry_after) {  // delay-seconds only; an HTTP date falls back to the backoff
        long long s = 0;
        auto [p, ec] = std::from_chars(retry_after->data(), retry_after->data() + retry_after->size(), s);
        if (ec == std::errc() && p == retry_after->data() + retry_after->size() && s >= 0)
          hint = std::chrono::milliseconds(std::min<long long>(s, 3600) * 1000);
      }
      return retry_or_fail(e.message, hint);
    }
    if (e.code == "llm.upstream_error") return fail(e.code, "the model request failed: " + e.message);
    return fail(e.code, "the model's response was not understood: " + e.message);
  }
  retries_ = 0;
  ++steps_;
  ModelReply& r = *reply;
  if (r.calls.empty()) {
    if (r.text.find_first_not_of(" \t\r\n") == std::string::npos)
      return fail("llm.empty_reply", "the model returned no answer (stop_reason " +
                                         (r.stop_reason.empty() ? "unknown" : r.stop_reason) + ")");
    turn_.push_back(protocol_.assistant_message(r));
    return loop::Finish{std::move(r.text), std::move(turn_)};
  }
  if (r.stop == StopKind::max_tokens)
    return fail("llm.max_tokens", "the model's output hit max_tokens (" + std::to_string(limits_.max_tokens) +
                                      ") in the middle of a tool call");
  if (steps_ >= limits_.max_steps)
    return fail("llm.step_limit", "step limit (" + std::to_string(limits_.max_steps) + ") reached");
  // Ids: servers that omit them get one made up; duplicates would make results ambiguous.
  std::set<std::string> seen;
  for (std::size_t i = 0; i < r.calls.size(); ++i) {
    auto& c = r.calls[i];
    if (c.id.empty() || seen.count(c.id)) c.id = "call_sb_" + std::to_string(steps_) + "_" + std::to_string(i);
    seen.insert(c.id);
  }
  turn_.push_back(protocol_.assistant_message(r));
  pending_ = r.calls;
  return loop::RunTools{std::move(r.calls)};
}

LoopAction AgentLoop::on_tool_results(std::vector<ToolResult> results) {
  results.resize(pending_.size(), ToolResult{"no result (internal error)", true});
  for (auto& res : results) {
    if (res.content.empty()) res.content = "(no output)";
    // Tools that cap their own output (bash, read_file) add a marker and a status line
    // past the limit; the slack keeps those from being cut a second time.
    if (res.content.size() > limits_.tool_output_max_bytes + kToolOutputSlack)
      res.content = cap_tool_output(res.content, limits_.tool_output_max_bytes);
    else
      res.content = utf8::sanitize(res.content);
  }
  for (auto& m : protocol_.tool_result_messages(pending_, results)) turn_.push_back(std::move(m));
  pending_.clear();
  return send();
}

}  // namespace sb::agent
