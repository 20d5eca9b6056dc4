#include "image/summary_input.h"

#include <string.h>

#include <set>

#include "image/framed_file.h"
#include "image/image_kinds.h"

namespace cryo::image {
namespace {

// The inventory's size of a file, or nullptr when the image has no such file.
const ImageFile* listed(const Inventory& inventory, const std::string& name) {
  for (const auto& file : inventory.files())
    if (file.name() == name) return &file;
  return nullptr;
}

// Reads an optional whole-image file (pipes.img, objects.img) within its listed size.
Result<> read_optional(const DirFd& dir, const Inventory& inventory, Kind kind, google::protobuf::Message* out) {
  const ImageFile* file = listed(inventory, file_name(kind));
  if (!file) return {};
  return read_image(dir, kind, 0, out, file->size());
}

// Reads a per-process file the process must have.
Result<> read_required(const DirFd& dir, const Inventory& inventory, Kind kind, uint32_t pid, google::protobuf::Message* out) {
  std::string name = file_name(kind, pid);
  const ImageFile* file = listed(inventory, name);
  if (!file) return fail(make_error("pstree.img lists pid " + std::to_string(pid) + " but the image has no " + name)
                             .with_hint("the image is damaged or was not written by cryo"));
  return read_image(dir, kind, pid, out, file->size());
}

}  // namespace

std::string signal_name(int signal) {
  const char* abbrev = signal > 0 && signal < 65 ? ::sigabbrev_np(signal) : nullptr;
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(signal);
}

Result<SummaryInput> read_summary_input(const DirFd& dir, const Inventory& inventory, SummaryNeeds needs) {
  const ImageFile* tree_file = listed(inventory, file_name(Kind::ProcessTree));
  if (!tree_file) return fail(make_error(dir.path() + ": the image has no pstree.img").with_hint("the image is damaged or was not written by cryo"));
  ProcessTree tree;
  RETURN_IF_ERROR(read_image(dir, Kind::ProcessTree, 0, &tree, tree_file->size()));
  if (tree.processes_size() > kMaxSummaryProcesses)
    return fail("pstree.img: " + std::to_string(tree.processes_size()) + " processes, more than an image can hold");
  SummaryInput input;
  if (needs.files) RETURN_IF_ERROR(read_optional(dir, inventory, Kind::Pipes, &input.pipes));
  if (needs.files || needs.memory) RETURN_IF_ERROR(read_optional(dir, inventory, Kind::MemoryObjects, &input.objects));
  std::set<uint32_t> seen;
  for (const ProcessEntry& entry : tree.processes()) {
    // file_name() of PID 0 is not a per-process name; a repeated PID would be read twice as one.
    if (entry.pid() == 0) return fail("pstree.img: a process with PID 0");
    if (!seen.insert(entry.pid()).second) return fail("pstree.img: PID " + std::to_string(entry.pid()) + " twice");
    SummaryProcess process;
    process.entry = entry;
    if (!entry.zombie()) {
      if (needs.core) RETURN_IF_ERROR(read_required(dir, inventory, Kind::Core, entry.pid(), &process.core));
      if (needs.files) RETURN_IF_ERROR(read_required(dir, inventory, Kind::Files, entry.pid(), &process.files));
      if (needs.memory) {
        RETURN_IF_ERROR(read_required(dir, inventory, Kind::MemoryMap, entry.pid(), &process.mm));
        RETURN_IF_ERROR(read_required(dir, inventory, Kind::Pagemap, entry.pid(), &process.pagemap));
      }
    }
    input.processes.push_back(std::move(process));
  }
  return input;
}

}  // namespace cryo::image
