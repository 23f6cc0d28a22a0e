# IPC permissions (security layer 5): the pure rules, the IpcWatcher enforcing them on a
# real IPC directory, and their wiring into the ContainerSupervisor (fake runtime).
squadbox_test(sb_ipc_permissions_tests
  SOURCES ipc_permissions_rules_test.cpp ipc_permissions_watcher_test.cpp
          ipc_permissions_supervisor_test.cpp
  LIBS sb_ipc sb_actors)
target_include_directories(sb_ipc_permissions_tests SYSTEM PRIVATE ${RAPIDJSON_INCLUDE_DIRS})
