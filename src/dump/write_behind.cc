#include "dump/write_behind.h"

#include <sys/mman.h>

#include <system_error>

namespace cryo::dump {

Result<std::unique_ptr<WriteBehind>> WriteBehind::start_inline(size_t buffer_bytes, Sink sink) {
  std::unique_ptr<WriteBehind> ring(new WriteBehind(buffer_bytes, std::move(sink)));
  RETURN_IF_ERROR(ring->map_buffers(1));
  return ring;
}

Result<> WriteBehind::map_buffers(size_t count) {
  batches_.resize(count);
  for (auto& batch : batches_) {
    void* p = ::mmap(nullptr, buffer_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return fail_errno("mmap(page buffer)");
    buffers_.push_back(p);
    batch.data = static_cast<char*>(p);
    free_.push_back(&batch);
  }
  return {};
}

Result<std::unique_ptr<WriteBehind>> WriteBehind::start(size_t count, size_t buffer_bytes, Sink sink) {
  std::unique_ptr<WriteBehind> ring(new WriteBehind(buffer_bytes, std::move(sink)));
  RETURN_IF_ERROR(ring->map_buffers(count));
  try {
    ring->writer_ = std::thread([r = ring.get()] { r->run(); });
  } catch (const std::system_error&) {
    // No thread to be had: submit() writes each batch in place of the writer.
  }
  return ring;
}

WriteBehind::~WriteBehind() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    queued_.clear();
  }
  changed_.notify_all();
  if (writer_.joinable()) writer_.join();
  for (void* p : buffers_) ::munmap(p, buffer_bytes_);
}

void WriteBehind::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stop_ || !queued_.empty(); });
    if (queued_.empty()) return;
    Batch* batch = queued_.front();
    queued_.pop_front();
    busy_ = true;
    bool failed = error_.has_value();
    lock.unlock();
    Result<> written = failed ? Result<>{} : sink_(*batch);
    lock.lock();
    if (!written && !error_) error_ = written.error();
    busy_ = false;
    free_.push_back(batch);
    changed_.notify_all();
  }
}

Result<WriteBehind::Batch*> WriteBehind::next() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return error_ || !free_.empty(); });
  if (error_) return fail(*error_);
  Batch* batch = free_.front();
  free_.pop_front();
  batch->pieces.clear();
  return batch;
}

Result<> WriteBehind::submit(Batch* batch) {
  if (!writer_.joinable()) {
    Result<> written = sink_(*batch);
    std::lock_guard lock(mutex_);
    free_.push_back(batch);
    if (!written) error_ = written.error();
    return written;
  }
  {
    std::lock_guard lock(mutex_);
    if (error_) {
      free_.push_back(batch);
      return fail(*error_);
    }
    queued_.push_back(batch);
  }
  changed_.notify_all();
  return {};
}

Result<> WriteBehind::finish() {
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return queued_.empty() && !busy_; });
    stop_ = true;
  }
  changed_.notify_all();
  if (writer_.joinable()) writer_.join();
  std::lock_guard lock(mutex_);
  if (error_) return fail(*error_);
  return {};
}

}  // namespace cryo::dump
