#pragma once
// The ChatDirectory TaskIpc needs, answered from the node database's chat mappings on a
// read-only connection of its own (opened on first use, one query at a time: the IPC
// threads of all runs share it).
#include <string>

#include "runtime/schedule/ipc_tasks.hpp"

namespace sb::storage {

// owner("local:{name}") is that namespace (its local chat); other JIDs by mapping. An
// unreadable database knows nothing (owner nullopt, no chats), which denies by default.
schedule::ChatDirectory open_chat_directory(const std::string& db_path);

}  // namespace sb::storage
