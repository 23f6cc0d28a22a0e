#include "runtime/agent/system_prompt.hpp"

namespace sb::agent {

std::string build_system_prompt(const SystemPromptParts& p) {
  std::string out;
  if (!p.instructions.empty()) {
    out += p.instructions;
    if (out.back() != '\n') out += '\n';
    out += '\n';
  }
  const bool can_write = [&] {
    for (const auto& t : p.tools)
      if (t.name == "write_file" || t.name == "edit_file") return true;
    return false;
  }();
  out += "## Memory (" + p.memory_path + ")\n";
  if (p.memory && !p.memory->empty()) {
    out += *p.memory;
    if (out.back() != '\n') out += '\n';
  } else {
    out += "(empty)\n";
  }
  if (can_write)
    out +=
        "Keep facts worth remembering across conversations in this file (write_file or edit_file with its "
        "absolute path).\n";
  out += "\n## Environment\n";
  out += "You are an agent in a squadbox container, answering in chat " + p.chat +
         ". Your final answer is sent to that chat; text you write next to tool calls is not.\n";
  if (p.tools.empty()) {
    out += "You have no tools in this group.\n";
    return out;
  }
  out += "Workspace: " + p.workspace + " (relative paths resolve there; bash runs there).\nTools:";
  for (const auto& t : p.tools) out += " " + std::string(t.name);
  out += "\n";
  return out;
}

}  // namespace sb::agent
