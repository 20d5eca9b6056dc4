// Changing an image as a hostile (or buggy) dumper would: edit one image file, then recompute the
// inventory's sizes and checksums and its seal the way cryo does, so that only a signature can tell.
#pragma once

#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "e2e/harness.h"
#include "image/framed_file.h"
#include "image/image_dir.h"
#include "image/image_kinds.h"
#include "inventory.pb.h"

namespace cryo::e2e {

// Makes the inventory agree again with the file `name` of `dir` as it now is: its size and checksum,
// and the inventory's seal, recomputed the way cryo does.
inline void reseal_file(const std::string& dir, const std::string& name) {
  image::Inventory inventory;
  ASSERT_TRUE(image::read_image(dir, image::Kind::Inventory, 0, &inventory).has_value());
  for (auto& file : *inventory.mutable_files()) {
    if (file.name() != name) continue;
    auto sum = image::checksum_file(dir + "/" + name);
    ASSERT_TRUE(sum.has_value());
    file.set_xxh3(*sum);
    file.set_size(slurp(dir + "/" + name).size());
  }
  image::seal_inventory(inventory);
  ASSERT_EQ(::unlink((dir + "/inventory.img").c_str()), 0);
  ASSERT_TRUE(image::write_image(dir, image::Kind::Inventory, 0, inventory).has_value());
}

// Changes one image file and makes the inventory agree again, as a buggy or hostile dumper would.
template <typename Message>
void rewrite_image(const std::string& dir, image::Kind kind, uint32_t pid, const std::function<void(Message&)>& change) {
  Message message;
  ASSERT_TRUE(image::read_image(dir, kind, pid, &message).has_value());
  change(message);
  std::string name = image::file_name(kind, pid);
  ASSERT_EQ(::unlink((dir + "/" + name).c_str()), 0);
  ASSERT_TRUE(image::write_image(dir, kind, pid, message).has_value());
  reseal_file(dir, name);
}

}  // namespace cryo::e2e
