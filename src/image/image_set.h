// Every image file of one checkpoint, read into memory once. Placeholders are forks of cryo, so they
// find everything they need here without reading the images again.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/dir_fd.h"
#include "base/error.h"
#include "image/signing_keys.h"
#include "core.pb.h"
#include "file_contents.pb.h"
#include "files.pb.h"
#include "included.pb.h"
#include "fingerprint.pb.h"
#include "inventory.pb.h"
#include "mm.pb.h"
#include "namespaces.pb.h"
#include "objects.pb.h"
#include "pagemap.pb.h"
#include "pipes.pb.h"
#include "pstree.pb.h"
#include "sysv.pb.h"

namespace cryo {

struct ProcessImage {
  image::ProcessEntry entry;  // From pstree.img.
  // The per-process images; empty for zombies, which have none.
  image::ProcessCore core;
  image::MemoryMap mm;
  image::Pagemap pagemap;
  image::ProcessFiles files;
  // What the kernel showed of the process at the dump; absent in images from before verification.
  std::optional<image::ProcessFingerprint> fingerprint;
  std::string pages_name;       // pages-<pid>.img, or zpages-<pid>.img when compressed, in ImageSet::dir_fd
  uint64_t pages_file_size = 0; // As listed in the inventory (verified against the file by open_image_dir).
  // For compressed page data: the content size each chunk's zstd frame header declares
  // (image::declared_chunk_sizes), in the order of the pagemap's table.
  std::vector<uint64_t> chunk_frame_sizes;

  uint32_t pid() const { return entry.pid(); }
  bool zombie() const { return entry.zombie(); }
};

struct ImageSet {
  std::string dir;
  // The image directory, held open: restore opens the pages files relative to it, never by path.
  std::shared_ptr<const DirFd> dir_fd;
  image::Inventory inventory;
  image::Namespaces namespaces;
  image::Pipes pipes;
  image::MemoryObjects objects;     // Empty in images from before memory objects.
  std::string object_pages_name;    // objpages.img
  uint64_t object_pages_size = 0;   // As listed in the inventory.
  image::FileContents contents;     // Empty in images from before contents.img.
  image::IncludedFiles included;    // From `cryo dump --include`; usually empty.
  image::SysvIpc sysv;              // sysv.img; absent (empty) when the tree's IPC namespace held no segment.
  // In pstree.img order, which is parents before children.
  std::vector<ProcessImage> processes;

  // Index into processes by PID inside the namespace; nullptr when absent.
  const ProcessImage* find(uint32_t pid) const;
  std::map<uint32_t, size_t> index;
};

// Opens the image directory (verifying every file against the inventory, and its signature with a
// key) and reads every image. Refuses an image whose per-process files are missing; it does not
// judge the values (validation does, see image_validation.h).
// `defer_page_checksums`: see image::open_image_dir (restore --lazy checksums the pages files later).
Result<ImageSet> load_image_set(std::shared_ptr<const DirFd> dir, const image::VerifyKey* verify = nullptr,
                                bool defer_page_checksums = false);
// The same, opening `dir` first.
Result<ImageSet> load_image_set(const std::string& dir);

}  // namespace cryo
