#include "restore/image_set.h"

#include <set>

#include "image/framed_file.h"
#include "image/image_dir.h"
#include "image/image_kinds.h"

namespace cryo::restore {

const ProcessImage* ImageSet::find(uint32_t pid) const {
  auto it = index.find(pid);
  return it == index.end() ? nullptr : &processes[it->second];
}

Result<ImageSet> load_image_set(const std::string& dir) {
  ImageSet set;
  set.dir = dir;
  ASSIGN_OR_RETURN(set.inventory, image::open_image_dir(dir));
  std::map<std::string, uint64_t> sizes;
  for (const auto& file : set.inventory.files()) sizes[file.name()] = file.size();
  auto listed = [&](image::Kind kind, uint32_t pid) { return sizes.count(image::file_name(kind, pid)) != 0; };

  RETURN_IF_ERROR(image::read_image(dir, image::Kind::Namespaces, 0, &set.namespaces));
  image::ProcessTree tree;
  RETURN_IF_ERROR(image::read_image(dir, image::Kind::ProcessTree, 0, &tree));
  // A tree without pipes may have been written without a pipes image.
  if (listed(image::Kind::Pipes, 0)) RETURN_IF_ERROR(image::read_image(dir, image::Kind::Pipes, 0, &set.pipes));
  // Images from before memory objects have neither file.
  if (listed(image::Kind::MemoryObjects, 0))
    RETURN_IF_ERROR(image::read_image(dir, image::Kind::MemoryObjects, 0, &set.objects));
  std::string object_pages = image::file_name(image::Kind::ObjectPages);
  set.object_pages_path = dir + "/" + object_pages;
  if (auto it = sizes.find(object_pages); it != sizes.end()) set.object_pages_size = it->second;

  set.processes.reserve(static_cast<size_t>(tree.processes_size()));
  for (const auto& entry : tree.processes()) {
    ProcessImage process;
    process.entry = entry;
    uint32_t pid = entry.pid();
    if (!entry.zombie()) {
      const image::Kind needed[] = {image::Kind::Core, image::Kind::MemoryMap, image::Kind::Pagemap, image::Kind::Files};
      for (image::Kind kind : needed)
        if (!listed(kind, pid)) return fail(dir + ": pid " + std::to_string(pid) + " has no " + image::file_name(kind, pid));
      RETURN_IF_ERROR(image::read_image(dir, image::Kind::Core, pid, &process.core));
      RETURN_IF_ERROR(image::read_image(dir, image::Kind::MemoryMap, pid, &process.mm));
      RETURN_IF_ERROR(image::read_image(dir, image::Kind::Pagemap, pid, &process.pagemap));
      RETURN_IF_ERROR(image::read_image(dir, image::Kind::Files, pid, &process.files));
      if (listed(image::Kind::Fingerprint, pid)) {
        process.fingerprint.emplace();
        RETURN_IF_ERROR(image::read_image(dir, image::Kind::Fingerprint, pid, &*process.fingerprint));
      }
      std::string pages = image::file_name(image::Kind::Pages, pid);
      process.pages_path = dir + "/" + pages;
      auto it = sizes.find(pages);
      process.pages_file_size = it == sizes.end() ? 0 : it->second;
    }
    set.index.emplace(pid, set.processes.size());  // A duplicate keeps the first; validation reports it.
    set.processes.push_back(std::move(process));
  }
  return set;
}

}  // namespace cryo::restore
