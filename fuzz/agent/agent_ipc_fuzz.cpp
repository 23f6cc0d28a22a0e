// The agent's side of the file IPC (runtime/agent, inside the container): an input/ file
// as the host wrote it (or as anything else that can write there left it) goes through
// the agent's decode(Box::input), the turn logic (turn_outputs, here with the echo reply
// and with an error reply) and the encoding of what the agent writes back. Property: the
// host accepts every file the agent writes (decode in the payload's own directory
// succeeds, within max_bytes), whatever the input was.
// Byte 0: bits 0-1 pick a smaller max_bytes (the agent's SQUADBOX_IPC_MAX_BYTES), bit 2
// makes the reply an error whose message is the input text. The rest: the file.
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
  static constexpr std::size_t kMaxBytes[] = {ipc::kDefaultMaxBytes, 4096, 512, 160};
  const std::size_t max_bytes = kMaxBytes[flags & 3];
  auto payload = ipc::decode(ipc::Box::input, bytes, max_bytes);
  if (!payload) return 0;
  const auto& in = std::get<ipc::InputMessage>(*payload);  // the only payload input/ may hold
  const Result<std::string> reply =
      (flags & 4) ? Result<std::string>(make_error("agent.exec_failed", in.text)) : Result<std::string>(in.text);
  check_outputs(agent::turn_outputs(in, reply, max_bytes), max_bytes);
  return 0;
}
