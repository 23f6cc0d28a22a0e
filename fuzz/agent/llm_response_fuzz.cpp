// What the agent reads back from the model, through the credential proxy's unix socket
// (the proxy relays the upstream's bytes): the HTTP/1.1 response parser (status line,
// headers, Content-Length / chunked / read-to-EOF bodies, 1xx interim responses), fed in
// chunks as they would arrive, then the reply parser of either protocol (Anthropic
// Messages, OpenAI Chat Completions: text, tool calls, error bodies); and the per-chat
// history file the agent reads at each turn (version 2 in either protocol's shape, or an
// old version 1 file), decoded, trimmed by whole turns and encoded again.
// Byte 0: bit 0 = the input is a history file, else an HTTP response; bit 1 = the OpenAI
// protocol, else Anthropic; bits 2-7 = the chunk size the response arrives in (1-63
// bytes; 0 = all at once).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/agent/history_file.hpp"
#include "runtime/agent/http_message.hpp"
#include "runtime/agent/model_protocol.hpp"

namespace {

using namespace sb;

void history(const agent::ModelProtocol& protocol, std::string_view bytes) {
  auto loaded = agent::decode_history_file(bytes, protocol);
  if (!loaded) return;
  // What decode accepts, encode writes back and decode accepts again, unchanged.
  auto again = agent::decode_history_file(agent::encode_history_file(protocol, "tg:42", loaded->turns), protocol);
  if (!again || again->turns != loaded->turns) std::abort();
  auto trimmed = agent::trim_turns(loaded->turns, 10, 4096);
  if (trimmed.size() > loaded->turns.size()) std::abort();
  (void)agent::history_file_name(bytes);
}

void response(const agent::ModelProtocol& protocol, std::size_t chunk, std::string_view bytes) {
  agent::HttpResponseParser parser(/*max_body=*/1 << 20, /*max_head=*/16 << 10);
  if (chunk == 0) chunk = bytes.size() + 1;
  for (std::size_t pos = 0; pos < bytes.size() && parser.state() == agent::HttpResponseParser::State::need_more;
       pos += chunk)
    parser.feed(bytes.substr(pos, chunk));
  if (parser.state() == agent::HttpResponseParser::State::need_more) parser.finish();
  if (parser.state() != agent::HttpResponseParser::State::done) return;
  const agent::HttpResponse& r = parser.response();
  if (r.status < 100 || r.status > 999) std::abort();
  auto reply = protocol.parse_response(r.status, r.body);
  if (!reply) return;
  // A reply the loop accepts becomes history (its assistant message).
  (void)protocol.assistant_message(*reply);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto& protocol = agent::model_protocol((data[0] & 2) ? LlmProtocol::openai : LlmProtocol::anthropic);
  if (data[0] & 1)
    history(protocol, bytes);
  else
    response(protocol, data[0] >> 2, bytes);
  return 0;
}
