#include "runtime/namespaces/namespace_runner.hpp"

#include <algorithm>
#include <utility>

#include "runtime/core/ids.hpp"
#include "runtime/core/log.hpp"
#include "runtime/routing/reply_rules.hpp"

namespace sb::namespaces {

using container::RunState;
using std::chrono::milliseconds;
using namespace effect;

NamespaceRunner::NamespaceRunner(NamespaceRunnerOptions options)
    : opts_(std::move(options)), ready_(opts_.ready), queue_(opts_.start_cursor, opts_.any_order) {
  if (!opts_.random_hex) opts_.random_hex = [] { return sb::random_hex(6); };
  if (!opts_.now) opts_.now = [] { return std::chrono::steady_clock::now(); };
}

// ---- helpers --------------------------------------------------------------------------

void NamespaceRunner::count(const char* name, const char* help, const metrics::Labels& labels) {
  if (auto* m = opts_.metrics) m->counter(name, help, labels).inc();
}

void NamespaceRunner::count_task(schedule::RunStatus status) {
  count("squadbox_scheduled_runs_total", "Scheduled container runs by result.",
        {{"status", std::string(schedule::to_string(status))}});
}

void NamespaceRunner::update_pending() {
  if (auto* m = opts_.metrics)
    m->gauge("squadbox_namespace_pending_messages", "Routed messages waiting for a turn, by namespace.",
             {{"namespace", opts_.name}})
        .set(static_cast<double>(queue_.pending()));
}

std::string NamespaceRunner::bot_for(const std::string& jid) const {
  std::string latest;
  if (auto it = chat_bot_.find(jid); it != chat_bot_.end())
    latest = it->second;
  else if (opts_.stored_bot) {
    if (auto b = opts_.stored_bot(jid)) latest = std::move(*b);
  }
  return choose_bot(jid, latest, opts_.bots).value_or("");
}

// One text to a chat through the outbox (or the local hub). `key` "" = none.
void NamespaceRunner::send_text(Effects& fx, const std::string& jid, const std::string& text,
                                const std::string& reply_to, const std::string& key) {
  if (jid.starts_with("local:")) {
    if (turn_ && turn_->chat_jid == jid) fx.push_back(LocalReply{jid, turn_->first_id, turn_->last_id, text});
    return;
  }
  auto bot = bot_for(jid);
  if (bot.empty()) {
    log::warn("namespace.reply_dropped", {{"namespace", opts_.name}, {"chat", jid}, {"reason", "no_bot"}});
    count("squadbox_namespace_replies_total", "Agent replies by outcome.", {{"result", "no_bot"}});
    return;
  }
  fx.push_back(SendText{std::move(bot), jid, text, reply_to, key});
}

// A lifecycle notice to the chat of the running (or last) turn; never deduplicated.
void NamespaceRunner::notify(Effects& fx, const std::string& line) {
  log::info("namespace.lifecycle", {{"namespace", opts_.name}, {"chat", last_chat_}, {"line", line}});
  if (last_chat_.empty()) return;
  send_text(fx, last_chat_, line, "", "");
}

// The running turn's typing indicator, through its bot's sender, if the platform has
// one; re-sent before it expires while the turn runs (typing_due).
void NamespaceRunner::typing(Effects& fx, uint64_t token) {
  if (!turn_ || token != typing_token_) return;
  const auto support = routing::typing_support_for_jid(turn_->chat_jid);
  if (!support.supported) return;
  auto bot = bot_for(turn_->chat_jid);
  if (bot.empty()) return;
  std::string message_id;
  if (auto it = meta_.find(turn_->last_id); it != meta_.end())
    message_id = it->second.message_ref.empty() ? it->second.platform_message_id : it->second.message_ref;
  if (support.needs_inbound_message_id && message_id.empty()) return;
  fx.push_back(SendTyping{std::move(bot), turn_->chat_jid, std::move(message_id)});
  const auto every =
      std::max(milliseconds(1000), std::chrono::duration_cast<milliseconds>(support.lasts) - milliseconds(1000));
  fx.push_back(ScheduleTyping{every, token});
}

void NamespaceRunner::release_slot(Effects& fx) {
  if (slot_ == Slot::none) return;
  slot_ = Slot::none;
  fx.push_back(ReleaseSlot{});
}

void NamespaceRunner::schedule_retry(Effects& fx, milliseconds delay) {
  retry_pending_ = true;
  fx.push_back(ScheduleRetry{delay, ++retry_token_});
}

// A start that failed, or a run that ended dead: tell the chat, try again later.
void NamespaceRunner::container_down(Effects& fx, const std::string& reason) {
  ++start_streak_;
  auto delay = start_retry_delay(opts_.start_retry, start_streak_);
  log::warn("namespace.container_down",
            {{"namespace", opts_.name}, {"reason", reason}, {"retry_ms", static_cast<int64_t>(delay.count())}});
  count("squadbox_namespace_container_failures_total", "Namespace containers that failed to start or died.");
  notify(fx, down_line(reason, delay));
  release_slot(fx);
  schedule_retry(fx, delay);
}

// ---- containers -----------------------------------------------------------------------

void NamespaceRunner::start_run(Effects& fx) {
  starting_ = Starting::run;
  fx.push_back(StartRun{"ns-" + opts_.name + "-" + opts_.random_hex()});
}

Effects NamespaceRunner::run_started(std::string run_id) {
  Effects fx;
  starting_ = Starting::none;
  run_id_ = std::move(run_id);
  has_run_ = true;
  restarts_ = 0;
  ran_ = false;
  log::info("namespace.run_started", {{"namespace", opts_.name}, {"run", run_id_}});
  pump(fx);
  after_start(fx);
  return fx;
}

Effects NamespaceRunner::start_failed(const std::string& error) {
  Effects fx;
  starting_ = Starting::none;
  container_down(fx, error);
  after_start(fx);
  return fx;
}

// Starts the oldest waiting scheduled run in a fresh "scheduled" container (the slot is held).
void NamespaceRunner::start_task_run(Effects& fx) {
  auto run = std::move(waiting_tasks_.front());
  waiting_tasks_.pop_front();
  StartTaskRun start;
  start.run_id = task_run_id(opts_.name, opts_.random_hex());
  start.image = run.image;
  start.isolated_session = run.context_mode == schedule::ContextMode::isolated;
  start.hard_timeout = std::chrono::seconds(run.timeout_secs);
  // Built and moved in: clang decides is_constructible<TaskRun> (no arguments) while
  // NamespaceRunner is still incomplete, so a bare emplace() does not compile with it.
  task_.emplace(TaskRun{});
  task_->run = std::move(run);
  task_->began = opts_.now();
  task_->run_id = start.run_id;
  starting_ = Starting::task;
  fx.push_back(std::move(start));
}

Effects NamespaceRunner::task_started(const std::string& session_dir) {
  Effects fx;
  starting_ = Starting::none;
  auto& task = *task_;
  const auto& run = task.run;
  if (run.context_mode == schedule::ContextMode::isolated) task.isolated_session = session_dir;
  log::info("namespace.task_started", {{"namespace", opts_.name},
                                       {"task", run.task_id},
                                       {"task_run", run.run_id},
                                       {"run", task.run_id},
                                       {"context_mode", std::string(schedule::to_string(run.context_mode))},
                                       {"timeout_secs", run.timeout_secs}});
  fx.push_back(Deliver{task.run_id, "task-" + std::to_string(run.run_id), run.prompt});
  after_start(fx);
  return fx;
}

Effects NamespaceRunner::task_start_failed(const std::string& error) {
  Effects fx;
  starting_ = Starting::none;
  finish_task(fx, {schedule::RunStatus::error, "the scheduled container could not start: " + error}, "");
  after_start(fx);
  return fx;
}

// Ends the going scheduled run: answers the scheduler, frees the slot, goes on.
void NamespaceRunner::finish_task(Effects& fx, const TaskOutcome& outcome, std::string result) {
  auto& task = *task_;
  const auto& run = task.run;
  const int64_t ms = std::chrono::duration_cast<milliseconds>(opts_.now() - task.began).count();
  log::write(outcome.error.empty() ? log::Level::info : log::Level::warn, "namespace.task_ended",
             {{"namespace", opts_.name},
              {"task", run.task_id},
              {"task_run", run.run_id},
              {"run", task.run_id},
              {"status", std::string(schedule::to_string(outcome.status))},
              {"duration_ms", ms},
              {"error", outcome.error}});
  count_task(outcome.status);
  fx.push_back(AnswerTask{outcome.status, std::move(result), outcome.error, std::move(task.isolated_session)});
  task_.reset();
  release_slot(fx);
  pump(fx);
}

// ---- pumping --------------------------------------------------------------------------

// A scheduled run waits: get a slot for it. A busy agent finishes its turn first; an
// idle message container is stopped by the pool (self pre-emption) and the slot comes
// straight back; without a container the request may pre-empt another idle namespace.
void NamespaceRunner::pump_task(Effects& fx) {
  if (!can_make_runs()) {
    while (!waiting_tasks_.empty()) {
      waiting_tasks_.pop_front();
      count_task(schedule::RunStatus::error);
      fx.push_back(RejectTask{"this node has no container services"});
    }
    return;
  }
  if (!ready_ || task_ask_) return;  // ready / granted pump again
  if (has_run_) {
    if (queue_.busy()) return;  // after_turn pumps again
    task_ask_ = true;
    fx.push_back(AskSlot{true});
    return;
  }
  if (slot_ == Slot::held) {
    start_task_run(fx);
    return;
  }
  task_ask_ = true;  // none: a new request; waiting (for messages): upgraded to scheduled
  slot_ = Slot::waiting;
  fx.push_back(AskSlot{true});
}

// Starts the next turn when the agent is free, or asks for a container. Scheduled runs
// go first: while one waits or runs, no message turn starts.
void NamespaceRunner::pump(Effects& fx) {
  update_pending();
  if (task_) return;
  if (has_run_ && stop_requested_) {
    // Pre-empted during a turn: stop once it is over; what waits needs a new container.
    if (!queue_.busy()) fx.push_back(StopRun{run_id_});
    return;
  }
  if (!waiting_tasks_.empty()) {
    pump_task(fx);
    return;
  }
  if (queue_.busy() || queue_.pending() == 0 || retry_pending_) return;
  if (!has_run_) {
    if (slot_ == Slot::none && can_start()) {
      slot_ = Slot::waiting;
      fx.push_back(AskSlot{false});
    }
    return;
  }
  auto turn = queue_.next_turn(opts_.max_batch);
  if (!turn) return;
  update_pending();
  turn_ = std::move(*turn);
  reply_n_ = 0;
  turn_error_.clear();
  turn_error_final_ = false;
  last_chat_ = turn_->chat_jid;
  log::info("namespace.turn", {{"namespace", opts_.name},
                               {"chat", turn_->chat_jid},
                               {"first_id", turn_->first_id},
                               {"last_id", turn_->last_id},
                               {"messages", static_cast<int64_t>(turn_->messages.size())}});
  // The boundary is stored before the agent can answer (the shell holds the turn's
  // replies until it is): a replay after a crash forms this same turn again.
  if (!turn_->boundary_known) {
    std::vector<int64_t> ids;
    ids.reserve(turn_->messages.size());
    for (const auto& m : turn_->messages) ids.push_back(m.id);
    fx.push_back(MarkTurnStarted{std::move(ids), turn_->last_id});
  }
  fx.push_back(Deliver{run_id_, std::to_string(turn_->last_id), turn_->input});
  fx.push_back(MarkBusy{});
  typing(fx, ++typing_token_);
}

// ---- turns ----------------------------------------------------------------------------

void NamespaceRunner::record_turn(Effects& fx, const Turn& t, const std::string& drop_reason) {
  std::vector<int64_t> ids;
  for (const auto& m : t.messages) ids.push_back(m.id);
  fx.push_back(RecordTurn{std::move(ids), drop_reason, queue_.restart_cursor()});
}

void NamespaceRunner::forget_meta(const Turn& t) {
  for (const auto& m : t.messages) meta_.erase(m.id);
}

void NamespaceRunner::after_turn(Effects& fx) {
  pump(fx);
  if (!queue_.busy() && has_run_) fx.push_back(MarkIdle{});
}

void NamespaceRunner::turn_succeeded(Effects& fx) {
  auto t = std::move(*turn_);
  turn_.reset();
  (void)queue_.turn_done();
  failures_ = 0;
  record_turn(fx, t, {});
  if (t.chat_jid.starts_with("local:")) fx.push_back(FinishLocalTurn{t.chat_jid, t.first_id, t.last_id, ""});
  forget_meta(t);
  count("squadbox_namespace_turns_total", "Agent turns by outcome.", {{"result", "ok"}});
  after_turn(fx);
}

// The turn did not complete (an error output, or its container ended). Retried after
// start_retry; dropped after max_turn_attempts attempts that reached the agent (a
// container that never started does not count against the messages).
void NamespaceRunner::turn_failed(Effects& fx, const std::string& error, bool retry_later, bool counts,
                                  bool final_word) {
  auto t = std::move(*turn_);
  turn_.reset();
  if (counts) {
    failures_ = t.first_id == failing_first_id_ ? failures_ + 1 : 1;
    failing_first_id_ = t.first_id;
  }
  log::warn("namespace.turn_failed", {{"namespace", opts_.name},
                                      {"first_id", t.first_id},
                                      {"last_id", t.last_id},
                                      {"error", error},
                                      {"attempt", static_cast<int64_t>(failures_)}});
  if (t.chat_jid.starts_with("local:"))
    fx.push_back(FinishLocalTurn{t.chat_jid, t.first_id, t.last_id, error.empty() ? "turn failed" : error});
  if (counts && (final_word || failures_ >= opts_.max_turn_attempts)) {
    (void)queue_.turn_done();  // given up: counts as handled, the cursor moves on
    failures_ = 0;
    record_turn(fx, t, "turn_failed: " + error);
    forget_meta(t);
    count("squadbox_namespace_turns_total", "Agent turns by outcome.",
          {{"result", final_word ? "failed_final" : "dropped"}});
    // The agent's own line answers the turn, once (it has the turn's reply key).
    if (!t.chat_jid.starts_with("local:")) {
      if (final_word)
        send_text(fx, t.chat_jid, agent_failure_line(error), "", reply_idempotency_key(opts_.id, t.last_id, reply_n_));
      else
        send_text(fx, t.chat_jid, gave_up_line(error), "", "");
    }
    after_turn(fx);
    return;
  }
  (void)queue_.turn_failed();
  count("squadbox_namespace_turns_total", "Agent turns by outcome.", {{"result", "failed"}});
  if (retry_later) {
    if (has_run_) fx.push_back(MarkIdle{});
    schedule_retry(fx, opts_.start_retry);
  }
}

// ---- run events -----------------------------------------------------------------------

// An output of the scheduled container: part of the result; announced to the task's
// chat (or the chat the agent names) under the usual addressing rules, with no implicit
// "own chat": a non-main namespace reaches only its own chats.
void NamespaceRunner::task_output(Effects& fx, const container::RunOutput& out) {
  auto& task = *task_;
  if (out.turn_failed) {
    task.error = out.error;
    return;
  }
  if (auto text = routing::strip_internal(out.text)) task.texts.push_back(*text);
  const auto& run = task.run;
  const std::string& target = out.chat_jid.empty() ? run.announce_jid : out.chat_jid;
  if (target.empty()) return;
  auto plan = plan_reply(table_, opts_.id, "", out.text, target);
  switch (plan.action) {
    case ReplyPlan::Action::drop_empty: return;
    case ReplyPlan::Action::denied:
      log::warn("namespace.announce_denied", {{"namespace", opts_.name},
                                              {"task", run.task_id},
                                              {"chat", plan.target_jid},
                                              {"reason", std::string(plan.reason)}});
      count("squadbox_namespace_replies_total", "Agent replies by outcome.", {{"result", "denied"}});
      return;
    case ReplyPlan::Action::local:
      log::warn("namespace.announce_dropped",
                {{"namespace", opts_.name}, {"chat", plan.target_jid}, {"reason", "local chats have no waiter"}});
      return;
    case ReplyPlan::Action::platform: break;
  }
  count("squadbox_namespace_replies_total", "Agent replies by outcome.", {{"result", "sent"}});
  send_text(fx, plan.target_jid, plan.text, "", task_announce_key(run.run_id, task.announced++));
}

Effects NamespaceRunner::output(const container::RunOutput& out) {
  Effects fx;
  if (out.progress) return fx;  // a terminal's view of the turn; chats get the answer only
  if (task_ && out.run_id == task_->run_id) {
    task_output(fx, out);
    return fx;
  }
  if (out.run_id != run_id_) return fx;
  if (out.turn_failed) {
    turn_error_ = out.error;
    turn_error_final_ = !out.retryable;
    return fx;
  }
  const std::string turn_chat = turn_ ? turn_->chat_jid : last_chat_;
  if (turn_chat.empty() && out.chat_jid.empty()) return fx;
  auto plan = plan_reply(table_, opts_.id, turn_chat, out.text, out.chat_jid);
  switch (plan.action) {
    case ReplyPlan::Action::drop_empty:
      count("squadbox_namespace_replies_total", "Agent replies by outcome.", {{"result", "empty"}});
      return fx;
    case ReplyPlan::Action::denied:
      log::warn("namespace.reply_denied",
                {{"namespace", opts_.name}, {"chat", plan.target_jid}, {"reason", std::string(plan.reason)}});
      count("squadbox_namespace_replies_total", "Agent replies by outcome.", {{"result", "denied"}});
      return fx;
    case ReplyPlan::Action::local:
    case ReplyPlan::Action::platform: break;
  }
  std::string reply_to, key;
  if (turn_) {
    key = reply_idempotency_key(opts_.id, turn_->last_id, reply_n_++);
    if (plan.target_jid == turn_->chat_jid)
      if (auto it = meta_.find(turn_->last_id); it != meta_.end()) reply_to = reply_to_for(it->second);
  }
  count("squadbox_namespace_replies_total", "Agent replies by outcome.", {{"result", "sent"}});
  send_text(fx, plan.target_jid, plan.text, reply_to, key);
  return fx;
}

Effects NamespaceRunner::transition(const container::RunTransition& t) {
  Effects fx;
  if (task_ && t.run_id == task_->run_id) {
    if (t.to == RunState::idle && t.from == RunState::running && !task_->turn_done) {
      task_->turn_done = true;  // its one turn is over: the agent exits, the run ends
      fx.push_back(CloseRun{task_->run_id});
    }
    return fx;
  }
  if (t.run_id != run_id_) return fx;
  if (t.to == RunState::backoff) {
    ++restarts_;
    reply_n_ = 0;  // the agent answers the re-delivered turn again: same keys, sent once
    notify(fx, restarting_line(restarts_ + 1));
    return fx;
  }
  if (t.to == RunState::idle || t.to == RunState::running) start_streak_ = 0;
  if (t.to == RunState::running) ran_ = true;
  if (t.to == RunState::idle && t.from == RunState::running && turn_) {
    if (turn_error_.empty())
      turn_succeeded(fx);
    else
      turn_failed(fx, turn_error_, true, true, turn_error_final_);
  }
  return fx;
}

Effects NamespaceRunner::done(const container::RunResult& r) {
  Effects fx;
  if (task_ && r.run_id == task_->run_id) {
    fx.push_back(ForgetRun{task_->run_id});
    auto outcome = classify_task_run(r, task_->turn_done, task_->error);
    finish_task(fx, outcome, join_task_result(task_->texts));
    return fx;
  }
  if (r.run_id != run_id_) return fx;
  fx.push_back(ForgetRun{run_id_});
  has_run_ = false;
  run_id_.clear();
  stop_requested_ = false;
  const std::string why = container::describe(r);
  log::info("namespace.run_ended", {{"namespace", opts_.name},
                                    {"run", r.run_id},
                                    {"state", std::string(container::to_string(r.final_state))},
                                    {"reason", std::string(container::to_string(r.reason))},
                                    {"detail", r.detail}});
  if (turn_) turn_failed(fx, "agent container ended: " + why, false, ran_);
  if (starting_ != Starting::none) {
    // The dropped turn's pump started a waiting scheduled run on the slot still held;
    // the rest of this event follows once the shell reports how that start went.
    done_tail_ = DoneTail{r.final_state, why};
    return fx;
  }
  done_tail(fx, r.final_state, why);
  return fx;
}

void NamespaceRunner::done_tail(Effects& fx, RunState final_state, const std::string& why) {
  if (final_state == RunState::dead && queue_.pending() > 0) {
    container_down(fx, why);  // releases the slot, retries later
    return;
  }
  if (final_state == RunState::dead) notify(fx, down_idle_line(why));  // the next message starts one
  if (task_ask_) {
    // Stopped for a scheduled run: the pool hands the slot back (granted).
    slot_ = Slot::waiting;
    fx.push_back(ReleaseSlot{});
  } else {
    release_slot(fx);
  }
  pump(fx);
}

void NamespaceRunner::after_start(Effects& fx) {
  if (auto tail = std::exchange(done_tail_, std::nullopt)) done_tail(fx, tail->final_state, tail->why);
}

// ---- messages and the pool ------------------------------------------------------------

// Takes one routed message into the queue (moved apart, not copied: the routing hot
// path). False when it was refused (a replay of what this runner already has or finished).
bool NamespaceRunner::accept(messaging::StoredMessage& in) {
  const int64_t id = in.id;
  if (queue_.refuses(id)) {
    // A replay (recover) of what this actor already has or finished: harmless.
    log::debug("namespace.refused", {{"namespace", opts_.name}, {"id", id}, {"code", "turn_queue.duplicate"}});
    return false;
  }
  if (!in.channel.empty() && !in.bot.empty()) {
    auto bot = chat_bot_.find(in.chat_jid);
    if (bot == chat_bot_.end() || bot->second.size() != in.channel.size() + 1 + in.bot.size() ||
        bot->second.compare(0, in.channel.size(), in.channel) != 0 ||
        bot->second.compare(in.channel.size() + 1, std::string::npos, in.bot) != 0)
      chat_bot_[in.chat_jid] = in.channel + "/" + in.bot;
  }
  // What replies and typing need of a message later; the text lives in the queue.
  messaging::StoredMessage reply_meta;
  reply_meta.channel = in.channel;
  reply_meta.is_group = in.is_group;
  reply_meta.reply_ref = std::move(in.reply_ref);
  reply_meta.message_ref = std::move(in.message_ref);
  reply_meta.platform_message_id = std::move(in.platform_message_id);
  std::string chat;
  if (!turn_) chat = in.chat_jid;
  auto pushed =
      queue_.push(PendingMessage{id, std::move(in.chat_jid), std::move(in.sender_id), std::move(in.sender_name),
                                 std::move(in.text), in.timestamp_ms, in.turn_last_id});
  if (!pushed) {
    log::debug("namespace.refused", {{"namespace", opts_.name}, {"id", id}, {"code", pushed.error().code}});
    return false;
  }
  meta_.emplace_hint(meta_.end(), id, std::move(reply_meta));
  if (!chat.empty()) last_chat_ = std::move(chat);  // lifecycle lines before its first turn go here
  return true;
}

Effects NamespaceRunner::route(messaging::StoredMessage&& message) {
  Effects fx;
  if (accept(message)) pump(fx);
  return fx;
}

Effects NamespaceRunner::route(std::vector<messaging::StoredMessage>&& batch) {
  Effects fx;
  bool any = false;
  for (auto& m : batch) any = accept(m) || any;
  if (any) pump(fx);
  return fx;
}

Effects NamespaceRunner::push_task(schedule::ScheduledRun run) {
  Effects fx;
  waiting_tasks_.push_back(std::move(run));
  pump(fx);
  return fx;
}

Effects NamespaceRunner::granted() {
  Effects fx;
  slot_ = Slot::held;
  if (has_run_ || task_) return fx;
  task_ask_ = false;
  if (!waiting_tasks_.empty() && can_start()) {
    start_task_run(fx);
    return fx;
  }
  if (queue_.pending() == 0 || retry_pending_ || !can_start()) {
    release_slot(fx);
    return fx;
  }
  start_run(fx);
  return fx;
}

Effects NamespaceRunner::stop() {
  Effects fx;
  if (!has_run_) return fx;  // a scheduled container is never pre-empted (never idle)
  if (!turn_)
    fx.push_back(StopRun{run_id_});  // pre-empted while idle
  else
    stop_requested_ = true;  // a turn began meanwhile: stop after it
  return fx;
}

Effects NamespaceRunner::ready() {
  Effects fx;
  ready_ = true;
  pump(fx);
  return fx;
}

Effects NamespaceRunner::retry_due(uint64_t token) {
  Effects fx;
  if (token != retry_token_) return fx;
  retry_pending_ = false;
  pump(fx);
  return fx;
}

Effects NamespaceRunner::typing_due(uint64_t token) {
  Effects fx;
  typing(fx, token);
  return fx;
}

RunnerStatus NamespaceRunner::status() const {
  std::string state = task_                    ? "task"
                      : turn_                  ? "busy"
                      : has_run_               ? "idle"
                      : slot_ == Slot::waiting ? "waiting"
                                               : "stopped";
  return {std::move(state), "pending " + std::to_string(queue_.pending()) + ", tasks " +
                                std::to_string(waiting_tasks_.size()) + ", cursor " +
                                std::to_string(queue_.restart_cursor()) + ", run " + (task_ ? task_->run_id : run_id_)};
}

}  // namespace sb::namespaces
