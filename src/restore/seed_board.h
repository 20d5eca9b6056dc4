// Where placeholders tell cryo which VMAs they mapped before forking their children (see
// shared_memory_plan.h): one byte per VMA of every process in shared anonymous memory that cryo
// maps before the first fork, so every placeholder inherits it. A placeholder writes its bytes
// before it reports ready; cryo reads them once all are ready. The restored processes never see
// it: their placeholder's memory is unmapped whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/error.h"
#include "image/image_set.h"

namespace cryo::restore {

class SeedBoard {
 public:
  static Result<SeedBoard> create(const ImageSet& images);
  SeedBoard() = default;
  SeedBoard(SeedBoard&& other) noexcept;
  SeedBoard& operator=(SeedBoard&& other) noexcept;
  ~SeedBoard();

  // In a placeholder: `seeded` by VMA index of process `index`.
  void record(size_t index, const std::vector<uint8_t>& seeded) const;
  // In cryo, once process `index` reported ready.
  std::vector<uint8_t> seeded(size_t index) const;

 private:
  uint8_t* bytes_ = nullptr;
  size_t size_ = 0;
  std::vector<size_t> offsets_;  // By process index; offsets_[i + 1] - offsets_[i] is its VMA count.
};

}  // namespace cryo::restore
