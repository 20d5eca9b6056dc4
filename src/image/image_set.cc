#include "image/image_set.h"

#include <set>

#include "image/framed_file.h"
#include "image/image_dir.h"
#include "image/image_kinds.h"
#include "image/page_compression.h"

namespace cryo {

const ProcessImage* ImageSet::find(uint32_t pid) const {
  auto it = index.find(pid);
  return it == index.end() ? nullptr : &processes[it->second];
}

Result<ImageSet> load_image_set(std::shared_ptr<const DirFd> dir_fd, const image::VerifyKey* verify, bool defer_page_checksums) {
  ImageSet set;
  set.dir = dir_fd->path();
  set.dir_fd = dir_fd;
  const DirFd& dir = *dir_fd;
  ASSIGN_OR_RETURN(set.inventory, image::open_image_dir(dir, verify, defer_page_checksums));
  std::map<std::string, uint64_t> sizes;
  for (const auto& file : set.inventory.files()) sizes[file.name()] = file.size();
  auto listed = [&](image::Kind kind, uint32_t pid) { return sizes.count(image::file_name(kind, pid)) != 0; };
  // Read within the size the verified inventory gives each file.
  auto read = [&](image::Kind kind, uint32_t pid, google::protobuf::Message* out) {
    auto it = sizes.find(image::file_name(kind, pid));
    return image::read_image(dir, kind, pid, out, it == sizes.end() ? 0 : it->second);
  };

  RETURN_IF_ERROR(read(image::Kind::Namespaces, 0, &set.namespaces));
  image::ProcessTree tree;
  RETURN_IF_ERROR(read(image::Kind::ProcessTree, 0, &tree));
  // A tree without pipes may have been written without a pipes image.
  if (listed(image::Kind::Pipes, 0)) RETURN_IF_ERROR(read(image::Kind::Pipes, 0, &set.pipes));
  // Images from before memory objects have neither file.
  if (listed(image::Kind::MemoryObjects, 0))
    RETURN_IF_ERROR(read(image::Kind::MemoryObjects, 0, &set.objects));
  // Images from before file contents were recorded: restore compares device and inode only.
  if (listed(image::Kind::FileContents, 0))
    RETURN_IF_ERROR(read(image::Kind::FileContents, 0, &set.contents));
  if (listed(image::Kind::SysvIpc, 0)) RETURN_IF_ERROR(read(image::Kind::SysvIpc, 0, &set.sysv));
  if (listed(image::Kind::IncludedFiles, 0))
    RETURN_IF_ERROR(read(image::Kind::IncludedFiles, 0, &set.included));
  std::string object_pages = image::file_name(image::Kind::ObjectPages);
  set.object_pages_name = object_pages;
  if (auto it = sizes.find(object_pages); it != sizes.end()) set.object_pages_size = it->second;

  set.processes.reserve(static_cast<size_t>(tree.processes_size()));
  for (const auto& entry : tree.processes()) {
    ProcessImage process;
    process.entry = entry;
    uint32_t pid = entry.pid();
    if (!entry.zombie()) {
      const image::Kind needed[] = {image::Kind::Core, image::Kind::MemoryMap, image::Kind::Pagemap, image::Kind::Files};
      for (image::Kind kind : needed)
        if (!listed(kind, pid)) return fail(dir.path() + ": pid " + std::to_string(pid) + " has no " + image::file_name(kind, pid));
      RETURN_IF_ERROR(read(image::Kind::Core, pid, &process.core));
      RETURN_IF_ERROR(read(image::Kind::MemoryMap, pid, &process.mm));
      RETURN_IF_ERROR(read(image::Kind::Pagemap, pid, &process.pagemap));
      RETURN_IF_ERROR(read(image::Kind::Files, pid, &process.files));
      if (listed(image::Kind::Fingerprint, pid)) {
        process.fingerprint.emplace();
        RETURN_IF_ERROR(read(image::Kind::Fingerprint, pid, &*process.fingerprint));
      }
      // Compressed page data is in a file of its own name, so that a cryo that does not know the
      // compression table refuses the image (its inventory lists a name that cryo cannot place).
      bool compressed = process.pagemap.has_compression();
      image::Kind other = compressed ? image::Kind::Pages : image::Kind::CompressedPages;
      if (listed(other, pid))
        return fail(dir.path() + ": pid " + std::to_string(pid) + ": " + image::file_name(other, pid) + " does not go with its " +
                    (compressed ? "compressed" : "uncompressed") + " pagemap");
      std::string pages = image::file_name(compressed ? image::Kind::CompressedPages : image::Kind::Pages, pid);
      process.pages_name = pages;
      auto it = sizes.find(pages);
      process.pages_file_size = it == sizes.end() ? 0 : it->second;
      if (compressed && process.pages_file_size > 0) {
        // The frame headers, for validation to compare with the table before anything is created.
        ASSIGN_OR_RETURN(OpenedFile file, dir.open_regular(pages, process.pages_file_size));
        process.chunk_frame_sizes = image::declared_chunk_sizes(file.fd.get(), file.size, process.pagemap.compression());
      }
    }
    set.index.emplace(pid, set.processes.size());  // A duplicate keeps the first; validation reports it.
    set.processes.push_back(std::move(process));
  }
  return set;
}

Result<ImageSet> load_image_set(const std::string& dir) {
  ASSIGN_OR_RETURN(DirFd opened, DirFd::open(dir));
  return load_image_set(std::make_shared<const DirFd>(std::move(opened)));
}

}  // namespace cryo
