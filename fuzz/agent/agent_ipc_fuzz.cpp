// The agent's side of the file IPC (runtime/agent, inside the container): an input/ file
// as the host wrote it (or as anything else that can write there left it) goes through
// the agent's decode(Box::input), the turn logic (turn_outputs) and the encoding of what
// the agent writes back. The reply is the input's text (echo mode), or raw bytes as a
// command prints them (exec mode: stdout is the reply, a failure's message may carry any
// bytes). Property: the host accepts every file the agent writes (decode in the payload's
// own directory succeeds, within max_bytes), whatever the input or the command printed.
// Byte 0: bits 0-1 pick max_bytes (the agent's SQUADBOX_IPC_MAX_BYTES, >= 1024); bit 2:
// the rest is a command's stdout, bit 3: the rest is a failure's message (both for the
// input {"id":"m-1","chatJid":"tg:42"}); otherwise the rest is the input/ file, echoed.
// Byte 0 == 0xff instead feeds the rest to parse_command (SQUADBOX_AGENT_COMMAND).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/agent/turn.hpp"
#include "runtime/ipc/protocol.hpp"

namespace {

using namespace sb;

void check_outputs(const std::vector<ipc::Payload>& outputs, std::size_t max_bytes) {
  if (outputs.empty()) std::abort();  // every turn ends with turn_done
  if (!std::holds_alternative<ipc::TurnDone>(outputs.back())) std::abort();
  for (const auto& p : outputs) {
    const std::string bytes = ipc::encode(p);
    if (bytes.size() > max_bytes) std::abort();  // the agent never writes what the host refuses
    auto back = ipc::decode(ipc::box_of(p), bytes, max_bytes);
    if (!back || !(*back == p)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (flags == 0xff) {
    auto argv = agent::parse_command(bytes);
    if (argv && (argv->empty() || argv->front().empty())) std::abort();  // documented: non-empty, non-empty strings
    return 0;
  }
  static constexpr std::size_t kMaxBytes[] = {ipc::kDefaultMaxBytes, 4096, 1024, 1500};
  const std::size_t max_bytes = kMaxBytes[flags & 3];
  if (flags & 12) {
    const ipc::InputMessage in{"m-1", "hi", std::string("tg:42")};
    const Result<std::string> reply = (flags & 8)
                                          ? Result<std::string>(make_error("agent.exec_failed", std::string(bytes)))
                                          : Result<std::string>(agent::reply_from_stdout(std::string(bytes)));
    check_outputs(agent::turn_outputs(in, reply, max_bytes), max_bytes);
    return 0;
  }
  auto payload = ipc::decode(ipc::Box::input, bytes, max_bytes);
  if (!payload) return 0;
  const auto& in = std::get<ipc::InputMessage>(*payload);  // the only payload input/ may hold
  check_outputs(agent::turn_outputs(in, Result<std::string>(in.text), max_bytes), max_bytes);
  return 0;
}
