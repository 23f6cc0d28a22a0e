#include "runtime/agent/http_message.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "runtime/core/text.hpp"

namespace sb::agent {
namespace {

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

bool has_line_break(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// HTTP's optional whitespace (RFC 9110 OWS): what header values are trimmed of.
constexpr std::string_view kOws = " \t";

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Result<std::string> build_http_request(std::string_view method, std::string_view target, const HttpHeaders& headers,
                                       std::string_view body) {
  if (!is_token(method)) return make_error("http.bad_request", "invalid HTTP method");
  if (target.empty() || target.front() != '/' || has_line_break(target) || target.find(' ') != std::string_view::npos)
    return make_error("http.bad_request", "invalid request target");
  std::string out;
  out.reserve(256 + body.size());
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  for (const auto& [name, value] : headers) {
    if (!is_token(name)) return make_error("http.bad_request", "invalid header name");
    if (has_line_break(value)) return make_error("http.bad_request", "header " + name + " holds a line break");
    out.append(name).append(": ").append(value).append("\r\n");
  }
  out.append("content-length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  out.append(body);
  return out;
}

std::optional<std::string> HttpResponse::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return std::nullopt;
}

HttpResponseParser::State HttpResponseParser::fail(std::string code, std::string message) {
  error_ = make_error(std::move(code), std::move(message));
  phase_ = Phase::done;
  return state_ = State::failed;
}

std::optional<std::string_view> HttpResponseParser::take_line() {
  auto nl = buf_.find('\n', pos_);
  if (nl == std::string::npos) return std::nullopt;
  std::string_view line(buf_.data() + pos_, nl - pos_);
  pos_ = nl + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

HttpResponseParser::State HttpResponseParser::append_body(std::string_view bytes) {
  if (response_.body.size() + bytes.size() > max_body_)
    return fail("http.too_large", "response body exceeds " + std::to_string(max_body_) + " bytes");
  response_.body.append(bytes);
  return State::need_more;
}

HttpResponseParser::State HttpResponseParser::start_body() {
  const int s = response_.status;
  if (s == 204 || s == 304) {
    phase_ = Phase::done;
    return state_ = State::done;
  }
  std::string te;
  std::optional<std::string> length;
  for (const auto& [k, v] : response_.headers) {
    if (k == "transfer-encoding") te += (te.empty() ? "" : ",") + v;
    if (k == "content-length") {
      if (!all_digits(v) || v.size() > 15) return fail("http.malformed", "invalid content-length");
      if (length && *length != v) return fail("http.malformed", "conflicting content-length headers");
      length = v;
    }
  }
  if (!te.empty()) {
    // Transfer-Encoding wins over Content-Length; only a final "chunked" frames the body.
    auto comma = te.rfind(',');
    std::string last =
        lower(trim(comma == std::string::npos ? std::string_view(te) : std::string_view(te).substr(comma + 1), kOws));
    phase_ = last == "chunked" ? Phase::chunk_size : Phase::until_eof;
    return State::need_more;
  }
  if (length) {
    remaining_ = std::stoull(*length);
    if (remaining_ > max_body_)
      return fail("http.too_large", "response body of " + *length + " bytes exceeds " + std::to_string(max_body_));
    phase_ = remaining_ == 0 ? Phase::done : Phase::fixed_body;
    if (phase_ == Phase::done) return state_ = State::done;
    return State::need_more;
  }
  phase_ = Phase::until_eof;
  return State::need_more;
}

HttpResponseParser::State HttpResponseParser::step() {
  while (true) {
    const bool in_head = phase_ == Phase::status_line || phase_ == Phase::headers || phase_ == Phase::trailers;
    switch (phase_) {
      case Phase::done: return state_;
      case Phase::until_eof: {
        auto st = append_body(std::string_view(buf_).substr(pos_));
        pos_ = buf_.size();
        return st;
      }
      case Phase::fixed_body:
      case Phase::chunk_data: {
        std::size_t n = std::min(remaining_, buf_.size() - pos_);
        if (append_body(std::string_view(buf_).substr(pos_, n)) == State::failed) return State::failed;
        pos_ += n;
        remaining_ -= n;
        if (remaining_ > 0) return State::need_more;
        if (phase_ == Phase::fixed_body) {
          phase_ = Phase::done;
          return state_ = State::done;
        }
        phase_ = Phase::chunk_crlf;
        continue;
      }
      default: break;
    }
    std::size_t before = pos_;
    auto line = take_line();
    if (!line) {
      std::size_t pending = buf_.size() - pos_;
      if (in_head && head_bytes_ + pending > max_head_)
        return fail("http.too_large", "response head exceeds " + std::to_string(max_head_) + " bytes");
      if (!in_head && pending > 1024) return fail("http.malformed", "chunk size line too long");
      return State::need_more;
    }
    if (in_head) {
      head_bytes_ += pos_ - before;
      if (head_bytes_ > max_head_)
        return fail("http.too_large", "response head exceeds " + std::to_string(max_head_) + " bytes");
    }
    switch (phase_) {
      case Phase::status_line: {
        // HTTP/1.x SSS[ reason]
        std::string_view l = *line;
        if (l.size() < 12 || l.substr(0, 7) != "HTTP/1." || !std::isdigit(static_cast<unsigned char>(l[7])) ||
            l[8] != ' ' || !all_digits(l.substr(9, 3)) || (l.size() > 12 && l[12] != ' '))
          return fail("http.malformed", "not an HTTP/1.x status line");
        response_ = HttpResponse{};
        response_.status = std::stoi(std::string(l.substr(9, 3)));
        if (response_.status < 100 || response_.status > 599) return fail("http.malformed", "invalid status code");
        response_.reason = l.size() > 13 ? std::string(l.substr(13)) : std::string();
        phase_ = Phase::headers;
        break;
      }
      case Phase::headers: {
        if (line->empty()) {
          if (response_.status < 200 && response_.status != 101) {
            phase_ = Phase::status_line;  // an interim response (100 Continue): the real one follows
            break;
          }
          if (start_body() == State::failed) return State::failed;
          break;
        }
        if (line->front() == ' ' || line->front() == '\t') return fail("http.malformed", "folded header line");
        auto colon = line->find(':');
        if (colon == std::string_view::npos || !is_token(line->substr(0, colon)))
          return fail("http.malformed", "invalid header line");
        response_.headers.emplace_back(lower(line->substr(0, colon)), std::string(trim(line->substr(colon + 1), kOws)));
        break;
      }
      case Phase::chunk_size: {
        std::string_view l = *line;
        std::size_t i = 0, size = 0;
        while (i < l.size() && std::isxdigit(static_cast<unsigned char>(l[i]))) {
          if (i == 15) return fail("http.malformed", "chunk size too long");
          char c = static_cast<char>(std::tolower(static_cast<unsigned char>(l[i])));
          size = size * 16 + static_cast<std::size_t>(c <= '9' ? c - '0' : c - 'a' + 10);
          ++i;
        }
        std::string_view rest = trim(l.substr(i), kOws);
        if (i == 0 || (!rest.empty() && rest.front() != ';')) return fail("http.malformed", "invalid chunk size");
        if (size > max_body_ - response_.body.size())
          return fail("http.too_large", "response body exceeds " + std::to_string(max_body_) + " bytes");
        if (size == 0) {
          phase_ = Phase::trailers;
        } else {
          remaining_ = size;
          phase_ = Phase::chunk_data;
        }
        break;
      }
      case Phase::chunk_crlf:
        if (!line->empty()) return fail("http.malformed", "chunk data longer than its size");
        phase_ = Phase::chunk_size;
        break;
      case Phase::trailers:
        if (line->empty()) {
          phase_ = Phase::done;
          return state_ = State::done;
        }
        break;  // trailer fields are not used
      default: break;
    }
  }
}

HttpResponseParser::State HttpResponseParser::feed(std::string_view data) {
  if (state_ != State::need_more) return state_;
  buf_.append(data);
  State st = step();
  if (pos_ > 0 && pos_ * 2 >= buf_.size()) {  // drop parsed bytes now and then, not on every feed
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return st;
}

HttpResponseParser::State HttpResponseParser::finish() {
  if (state_ != State::need_more) return state_;
  switch (phase_) {
    case Phase::until_eof: phase_ = Phase::done; return state_ = State::done;
    case Phase::status_line:
      if (head_bytes_ == 0 && buf_.size() == pos_)
        return fail("http.truncated", "connection closed before any response");
      return fail("http.truncated", "connection closed inside the response head");
    case Phase::headers: return fail("http.truncated", "connection closed inside the response head");
    default:
      return fail("http.truncated", "connection closed before the response body was complete (got " +
                                        std::to_string(response_.body.size()) + " bytes)");
  }
}

}  // namespace sb::agent
