#pragma once
// Host side of the file IPC (docs/ipc.md): one IpcDirectory per container run. It lays
// out `<root>/{input,messages,tasks,errors}`, writes inputs atomically and the `_close`
// sentinel. The container sees `<root>` as /workspace/ipc.
#include <sys/types.h>

#include <optional>
#include <string>

#include "runtime/core/result.hpp"
#include "runtime/ipc/protocol.hpp"

namespace sb::ipc {

struct IpcDirectoryOptions {
  // The uid/gid the agent runs as, seen from the host (for a user-namespaced runtime:
  // the host uid that container uid maps to). The four subdirectories are chowned to it
  // with mode 0700: only that uid (and root) can read inputs or forge messages — never
  // another local user, which a world-writable 0777 directory would allow. nullopt
  // leaves them owned by the caller (tests that run the agent as themselves).
  std::optional<uid_t> container_uid = 65534;
  std::optional<gid_t> container_gid = 65534;
};

class IpcDirectory {
 public:
  // Creates (or re-adopts) the layout; removes a stale `_close` from an earlier run.
  static Result<IpcDirectory> create(std::string root, IpcDirectoryOptions options = {});

  const std::string& root() const { return root_; }
  std::string path(Box box) const;
  std::string errors_path() const;

  // Writes `{"type":"message","id":...,"text":...}` to input/ atomically; returns the
  // id (generated, unique within this directory) the agent echoes as inReplyTo.
  Result<std::string> write_input(std::string text, std::optional<std::string> chat_jid = {});
  // Same with a caller-chosen id (e.g. the persisted message id, for re-delivery).
  Status write_input(const InputMessage& message);

  // Asks the agent to finish its pending inputs and exit.
  Status close();

 private:
  explicit IpcDirectory(std::string root) : root_(std::move(root)) {}
  std::string root_;
  Namer namer_;
};

}  // namespace sb::ipc
