#include "actors/channels/http_worker.hpp"

namespace sb::actors {

void HttpWorker::submit(HttpJob job) {
  std::lock_guard lock(mutex_);
  job_ = std::move(job);
  cv_.notify_one();
}

void HttpWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    cv_.notify_all();
  }
  request_.interrupt();
  if (thread_.joinable()) thread_.join();
}

void HttpWorker::run() {
  for (;;) {
    HttpJob job;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || job_.has_value(); });
      if (stopping_) return;
      job = std::move(*job_);
      job_.reset();
      if (job.delay.count() > 0 && cv_.wait_for(lock, job.delay, [&] { return stopping_; })) return;
    }
    auto response = request_.perform(job.method, job.url, std::move(job.headers), std::move(job.body), job.client);
    if (request_.interrupted()) return;
    HttpAnswer answer;
    answer.tag = job.tag;
    if (response) {
      answer.status = response->status;
      answer.body = std::move(response->body);
      answer.headers = std::move(response->headers);
      if (!response->content_type.empty()) answer.headers.emplace_back("Content-Type", response->content_type);
    } else {
      answer.error_code = response.error().code;
      answer.error_message = response.error().message;
    }
    deliver_(std::move(answer));
  }
}

}  // namespace sb::actors
