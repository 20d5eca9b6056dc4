// cryo show --ps: the tree with PIDs, parents, sessions, process groups, commands and states.
#include <sys/wait.h>

#include <map>

#include "base/display_text.h"
#include "base/text_table.h"
#include "image/image_summaries.h"
#include "image/summary_input.h"
#include "image/summary_renderers.h"

namespace cryo::image {
namespace {

// Deeper than this, the tree is still listed but no longer indented further.
constexpr size_t kMaxIndentDepth = 32;

std::vector<std::string> split_cmdline(const std::string& cmdline) {
  std::vector<std::string> args;
  size_t start = 0;
  while (start < cmdline.size()) {
    size_t end = cmdline.find('\0', start);
    if (end == std::string::npos) end = cmdline.size();
    args.push_back(cmdline.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

std::string state_of(const SummaryProcess& process) {
  if (process.entry.zombie()) {
    int status = process.entry.exit_code();
    if (WIFEXITED(status)) return "zombie (exit " + std::to_string(WEXITSTATUS(status)) + ")";
    if (WIFSIGNALED(status)) return "zombie (" + signal_name(WTERMSIG(status)) + ")";
    return "zombie";
  }
  if (process.core.stop_signal() != 0) return "stopped (" + signal_name(static_cast<int>(process.core.stop_signal())) + ")";
  return "running";
}

}  // namespace

std::vector<size_t> tree_depths(const SummaryInput& input) {
  // pstree.img lists parents before children; a parent listed later (or never) makes a root. So the
  // walk is one pass and a hostile parent loop cannot make it loop.
  std::vector<size_t> depths(input.processes.size(), 0);
  std::map<uint32_t, size_t> index;
  for (size_t i = 0; i < input.processes.size(); ++i) {
    const ProcessEntry& entry = input.processes[i].entry;
    auto parent = index.find(entry.ppid());
    if (entry.ppid() != 0 && parent != index.end()) depths[i] = depths[parent->second] + 1;
    index.emplace(entry.pid(), i);
  }
  return depths;
}

std::string render_tree_summary(const SummaryInput& input, PrintFormat format) {
  std::vector<size_t> depths = tree_depths(input);
  if (format == PrintFormat::Json) {
    std::string out = "{\"processes\":[";
    for (size_t i = 0; i < input.processes.size(); ++i) {
      const SummaryProcess& process = input.processes[i];
      const ProcessEntry& entry = process.entry;
      out += std::string(i ? "," : "") + "{\"pid\":" + std::to_string(entry.pid()) + ",\"ppid\":" + std::to_string(entry.ppid()) +
             ",\"pgid\":" + std::to_string(entry.pgid()) + ",\"sid\":" + std::to_string(entry.sid()) +
             ",\"host_pid\":" + std::to_string(entry.host_pid()) + ",\"depth\":" + std::to_string(depths[i]) + ",\"threads\":[";
      for (int t = 0; t < entry.threads_size(); ++t) out += (t ? "," : "") + std::to_string(entry.threads(t));
      out += "],\"state\":" + json_string(state_of(process)) + ",\"zombie\":" + (entry.zombie() ? "true" : "false");
      if (entry.zombie()) out += ",\"exit_status\":" + std::to_string(entry.exit_code());
      out += ",\"stop_signal\":" + std::to_string(process.core.stop_signal()) + ",\"comm\":" + json_string(process.core.comm()) +
             ",\"command\":[";
      auto args = split_cmdline(process.core.cmdline());
      for (size_t a = 0; a < args.size(); ++a) out += (a ? "," : "") + json_string(args[a]);
      out += "]}";
    }
    return out + "]}\n";
  }
  std::vector<std::vector<std::string>> rows = {{"PID", "PPID", "PGID", "SID", "HOST-PID", "THREADS", "STATE", "COMM", "COMMAND"}};
  for (size_t i = 0; i < input.processes.size(); ++i) {
    const SummaryProcess& process = input.processes[i];
    const ProcessEntry& entry = process.entry;
    std::string command;
    for (const auto& arg : split_cmdline(process.core.cmdline())) command += (command.empty() ? "" : " ") + terminal_safe(arg);
    std::string comm = entry.zombie() ? "<zombie>" : terminal_safe(process.core.comm());
    rows.push_back({std::to_string(entry.pid()), std::to_string(entry.ppid()), std::to_string(entry.pgid()),
                    std::to_string(entry.sid()), std::to_string(entry.host_pid()), std::to_string(entry.threads_size()),
                    state_of(process), std::string(2 * std::min(depths[i], kMaxIndentDepth), ' ') + comm,
                    command});
  }
  return format_table(rows);
}

}  // namespace cryo::image
