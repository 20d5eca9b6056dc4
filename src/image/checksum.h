// The checksum an image's inventory keeps for each of its files (XXH3-64), computed as the bytes
// go by: the reader hashes a file it reads, and the dump hashes a pages file while writing it.
#pragma once

#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace cryo::image {

class StreamingChecksum {
 public:
  StreamingChecksum() : state_(XXH3_createState()) { XXH3_64bits_reset(state_.get()); }
  void update(const void* data, size_t size) { XXH3_64bits_update(state_.get(), data, size); }
  // Of everything given so far.
  uint64_t digest() const { return XXH3_64bits_digest(state_.get()); }

 private:
  struct Free {
    void operator()(XXH3_state_t* state) const { XXH3_freeState(state); }
  };
  std::unique_ptr<XXH3_state_t, Free> state_;
};

}  // namespace cryo::image
