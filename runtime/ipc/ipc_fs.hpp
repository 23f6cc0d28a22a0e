#pragma once
// Small POSIX file helpers for the IPC directories, shared by the agent and the host:
// the atomic write of a payload (core's write_file_atomic, with IPC's error codes), a
// safe bounded read and the move-to-errors step. Kept apart from protocol.hpp so that
// stays pure.
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/fs.hpp"
#include "runtime/core/result.hpp"
#include "runtime/ipc/protocol.hpp"

namespace sb::ipc {

// Writes `dir/name.tmp` (O_EXCL|O_NOFOLLOW: never follows a planted link) and renames
// it to `dir/name`, so a reader sees either nothing or the whole file. Unless `replace`,
// an existing `dir/name` is never overwritten (renameat2 RENAME_NOREPLACE): the error
// code is then "ipc.exists" and the caller picks the next name.
Status write_atomic(const std::string& dir, const std::string& name, std::string_view content, bool replace = false,
                    mode_t mode = 0644);

// Writes a payload under the next free name from `namer`; returns the name used.
Result<std::string> write_payload(const std::string& dir, Namer& namer, std::string_view content);

// Reads a regular file of at most max_bytes. Error codes: "ipc.gone" (already removed:
// someone else handled it, skip silently), "ipc.oversized", "ipc.read_error".
// Symlinks, FIFOs and devices are refused (the other side owns the directory).
Result<std::string> read_bounded(const std::string& path, std::size_t max_bytes);

// Sorted `*.json` payload names in dir (never `.tmp`, never `_close`).
Result<std::vector<std::string>> list_payloads(const std::string& dir);

// Moves `root/<box>/name` to `root/errors/<box>-name` and writes the reason next to it
// as `<box>-name.reason`. If the move fails the file is removed, so it is never
// handled twice.
Status reject_file(const std::string& root, Box box, const std::string& name, std::string_view reason);

bool file_exists(const std::string& path);

}  // namespace sb::ipc
