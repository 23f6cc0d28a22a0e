// What the agent reads back from the model, through the credential proxy's unix socket
// (the proxy relays the upstream's bytes): the HTTP/1.1 response parser (status line,
// headers, Content-Length / chunked / read-to-EOF bodies, 1xx interim responses), fed in
// chunks as they would arrive, then the Anthropic Messages reply parser on the body; and
// the per-chat history file the agent reads at each turn (decode_history, then trimmed
// and encoded again).
// Byte 0: bit 0 = the input is a history file, else an HTTP response; bits 1-7 = the
// chunk size the response arrives in (1-127 bytes; 0 = all at once).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/agent/http_message.hpp"
#include "runtime/agent/llm.hpp"

namespace {

using namespace sb;

void history(std::string_view bytes) {
  auto messages = agent::decode_history(bytes);
  if (!messages) return;
  // What decode accepts, encode writes back and decode accepts again, unchanged.
  auto again = agent::decode_history(agent::encode_history("tg:42", *messages));
  if (!again || *again != *messages) std::abort();
  auto trimmed = agent::trim_history(*messages, 10, 4096);
  if (!trimmed.empty() && trimmed.front().role != "user") std::abort();
  (void)agent::history_file_name(bytes);
}

void response(std::size_t chunk, std::string_view bytes) {
  agent::HttpResponseParser parser(/*max_body=*/1 << 20, /*max_head=*/16 << 10);
  if (chunk == 0) chunk = bytes.size() + 1;
  for (std::size_t pos = 0; pos < bytes.size() && parser.state() == agent::HttpResponseParser::State::need_more;
       pos += chunk)
    parser.feed(bytes.substr(pos, chunk));
  if (parser.state() == agent::HttpResponseParser::State::need_more) parser.finish();
  if (parser.state() != agent::HttpResponseParser::State::done) return;
  const agent::HttpResponse& r = parser.response();
  if (r.status < 100 || r.status > 999) std::abort();
  (void)agent::parse_messages_reply(r.status, r.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1)
    history(bytes);
  else
    response(data[0] >> 1, bytes);
  return 0;
}
