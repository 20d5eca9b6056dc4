#include "restore/seed_board.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace cryo::restore {

Result<SeedBoard> SeedBoard::create(const ImageSet& images) {
  SeedBoard board;
  board.offsets_.push_back(0);
  for (const auto& process : images.processes)
    board.offsets_.push_back(board.offsets_.back() + static_cast<size_t>(process.mm.vmas_size()));
  board.size_ = std::max<size_t>(board.offsets_.back(), 1);
  void* p = ::mmap(nullptr, board.size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return fail_errno("mmap(seed board)");
  board.bytes_ = static_cast<uint8_t*>(p);
  return board;
}

SeedBoard::SeedBoard(SeedBoard&& other) noexcept
    : bytes_(std::exchange(other.bytes_, nullptr)), size_(other.size_), offsets_(std::move(other.offsets_)) {}

SeedBoard& SeedBoard::operator=(SeedBoard&& other) noexcept {
  if (this != &other) {
    if (bytes_) ::munmap(bytes_, size_);
    bytes_ = std::exchange(other.bytes_, nullptr);
    size_ = other.size_;
    offsets_ = std::move(other.offsets_);
  }
  return *this;
}

SeedBoard::~SeedBoard() {
  if (bytes_) ::munmap(bytes_, size_);
}

void SeedBoard::record(size_t index, const std::vector<uint8_t>& seeded) const {
  if (!bytes_ || index + 1 >= offsets_.size()) return;
  size_t count = std::min(seeded.size(), offsets_[index + 1] - offsets_[index]);
  std::memcpy(bytes_ + offsets_[index], seeded.data(), count);
}

std::vector<uint8_t> SeedBoard::seeded(size_t index) const {
  if (!bytes_ || index + 1 >= offsets_.size()) return {};
  // Only 0 or 1 counts: a placeholder's memory is not to be trusted beyond that.
  std::vector<uint8_t> out(bytes_ + offsets_[index], bytes_ + offsets_[index + 1]);
  for (auto& b : out) b = b == 1;
  return out;
}

}  // namespace cryo::restore
