// The /proc files of an image (FD_PROC_FILE): the path must be one a dump could have recorded,
// inside /proc (no "..", no absolute path), naming a process of the image, and no file that a
// dump refuses.
#include <map>
#include <set>

#include "kernel/proc_file_path.h"
#include "state/files/proc_file.h"

namespace cryo::state {

void validate_proc_files(const ImageSet& set, std::vector<std::string>* problems) {
  std::map<uint64_t, std::string> shared;  // open_file_id -> its path, the same for every holder.
  std::set<uint32_t> pids;
  for (const auto& process : set.processes) pids.insert(process.pid());
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds()) {
      std::string name = "pid " + std::to_string(process.pid()) + ": fd " + std::to_string(fd.fd());
      if (fd.kind() != image::FD_PROC_FILE) {
        if (!fd.proc_path().empty()) problems->push_back(name + ": a /proc path on an fd of kind " + image::FdKind_Name(fd.kind()));
        continue;
      }
      auto parsed = parse_proc_file_path(fd.proc_path());
      if (!parsed) {
        problems->push_back(name + ": " + parsed.error().message);
        continue;
      }
      name += " (/proc/" + fd.proc_path() + ")";
      if (std::string why = unreopenable_proc_file(*parsed); !why.empty()) problems->push_back(name + " is " + why);
      if (parsed->pid != 0 && !pids.count(parsed->pid))
        problems->push_back(name + ": pid " + std::to_string(parsed->pid) + " is not a process of the tree");
      if (parsed->tid != 0 && parsed->tid != parsed->pid)
        problems->push_back(name + ": a file of thread " + std::to_string(parsed->tid) + ", not of its process's leader");
      if (!fd.path().empty()) problems->push_back(name + ": a /proc file carries no host path");
      if (fd.open_file_id() != 0) {
        auto [it, fresh] = shared.emplace(fd.open_file_id(), fd.proc_path());
        if (!fresh && it->second != fd.proc_path())
          problems->push_back(name + ": shares open file " + std::to_string(fd.open_file_id()) + " with /proc/" + it->second);
      }
    }
}

}  // namespace cryo::state
