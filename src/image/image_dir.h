// An image directory as a whole: written into a private temporary directory and renamed into place
// only when complete; read only after every file matches the inventory.
#pragma once

#include <map>
#include <string>

#include "base/error.h"
#include "inventory.pb.h"

namespace cryo::image {

// Checksums a whole file with XXH3-64.
Result<uint64_t> checksum_file(const std::string& path);
// The same for an open file, from its start whatever its position (pread); `what` names it in errors.
Result<uint64_t> checksum_fd(int fd, const std::string& what);

// Sets inventory.self_xxh3 from the rest of the record (commit does this; the fuzzer too).
void seal_inventory(Inventory& inventory);
// Whether inventory.self_xxh3 matches the rest of the record.
bool inventory_is_sealed(const Inventory& inventory);

class ImageDirWriter {
 public:
  // Prepares `final_dir`: refuses one that already holds an image, creates a 0700 temporary
  // directory beside it to write into.
  static Result<ImageDirWriter> create(const std::string& final_dir);
  ImageDirWriter(ImageDirWriter&& other) noexcept;
  ImageDirWriter& operator=(ImageDirWriter&&) = delete;
  ~ImageDirWriter();  // Removes the temporary directory unless committed.

  // Where image files are written until commit.
  const std::string& dir() const { return temp_dir_; }
  const std::string& final_dir() const { return final_dir_; }

  // Tells the checksum of a file the caller wrote into dir() and hashed while writing, so that
  // commit() need not read it back. The file must not change afterwards.
  void set_known_checksum(const std::string& name, uint64_t xxh3) { known_checksums_[name] = xxh3; }

  // Records size and checksum of every file written, writes the inventory, syncs, and renames the
  // temporary directory to the final one. Log files are moved along but are not part of the image.
  // A commit that fails after the rename withdraws the image again.
  Result<> commit(Inventory inventory);

  // Takes a committed image back: removes the inventory first, so that the directory never looks
  // complete, then every other image file. Log files stay, to explain the failure.
  void withdraw();

 private:
  ImageDirWriter(std::string final_dir, std::string temp_dir) : final_dir_(std::move(final_dir)), temp_dir_(std::move(temp_dir)) {}
  std::string final_dir_;
  std::string temp_dir_;
  bool committed_ = false;
  std::map<std::string, uint64_t> known_checksums_;
};

// Opens an image directory for reading: the inventory must be readable, match its own checksum and
// be of this format version, and every file must be present with its recorded size and checksum, with no file missing or extra.
// Every mismatch is reported in one error.
Result<Inventory> open_image_dir(const std::string& dir);

// Removes a directory and everything in it (image directories are flat).
void remove_dir(const std::string& dir);

}  // namespace cryo::image
