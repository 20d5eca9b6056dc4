// What the summaries of image_summaries.h read from an image: the tree and, per live process, the
// files each summary needs. Checked only as far as reading them safely needs (a listed process has
// its files, PIDs are unique and counts bounded); values are judged by whoever renders them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/dir_fd.h"
#include "base/error.h"
#include "core.pb.h"
#include "files.pb.h"
#include "inventory.pb.h"
#include "mm.pb.h"
#include "objects.pb.h"
#include "pagemap.pb.h"
#include "pipes.pb.h"
#include "pstree.pb.h"

namespace cryo::image {

struct SummaryProcess {
  ProcessEntry entry;
  // Empty for zombies, and for the kinds the summary did not ask for.
  ProcessCore core;
  ProcessFiles files;
  MemoryMap mm;
  Pagemap pagemap;
};

struct SummaryInput {
  std::vector<SummaryProcess> processes;  // In pstree.img order.
  Pipes pipes;                            // With files.
  MemoryObjects objects;                  // With files or memory; empty when the image has none.
};

struct SummaryNeeds {
  bool core = false;
  bool files = false;
  bool memory = false;
};

// Processes in one summary; the restore's own bound is far lower.
constexpr int kMaxSummaryProcesses = 1 << 20;

Result<SummaryInput> read_summary_input(const DirFd& dir, const Inventory& inventory, SummaryNeeds needs);

// Signal numbers as names ("SIGSTOP"), or "signal N".
std::string signal_name(int signal);

}  // namespace cryo::image
