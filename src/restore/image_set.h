// Every image file of one checkpoint, read into memory once. Placeholders are forks of cryo, so they
// find everything they need here without reading the images again.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "core.pb.h"
#include "files.pb.h"
#include "fingerprint.pb.h"
#include "inventory.pb.h"
#include "mm.pb.h"
#include "namespaces.pb.h"
#include "objects.pb.h"
#include "pagemap.pb.h"
#include "pipes.pb.h"
#include "pstree.pb.h"

namespace cryo::restore {

struct ProcessImage {
  image::ProcessEntry entry;  // From pstree.img.
  // The per-process images; empty for zombies, which have none.
  image::ProcessCore core;
  image::MemoryMap mm;
  image::Pagemap pagemap;
  image::ProcessFiles files;
  // What the kernel showed of the process at the dump; absent in images from before verification.
  std::optional<image::ProcessFingerprint> fingerprint;
  std::string pages_path;       // dir/pages-<pid>.img
  uint64_t pages_file_size = 0; // As listed in the inventory (verified against the file by open_image_dir).

  uint32_t pid() const { return entry.pid(); }
  bool zombie() const { return entry.zombie(); }
};

struct ImageSet {
  std::string dir;
  image::Inventory inventory;
  image::Namespaces namespaces;
  image::Pipes pipes;
  image::MemoryObjects objects;     // Empty in images from before memory objects.
  std::string object_pages_path;    // dir/objpages.img
  uint64_t object_pages_size = 0;   // As listed in the inventory.
  // In pstree.img order, which is parents before children.
  std::vector<ProcessImage> processes;

  // Index into processes by PID inside the namespace; nullptr when absent.
  const ProcessImage* find(uint32_t pid) const;
  std::map<uint32_t, size_t> index;
};

// Opens the image directory (verifying every file against the inventory) and reads every image.
// Refuses an image whose per-process files are missing; it does not judge the values (validation
// does, see image_validation.h).
Result<ImageSet> load_image_set(const std::string& dir);

}  // namespace cryo::restore
