// A small ring of batch buffers between the thread that reads a frozen process's memory and one
// thread that writes what was read, so that reading the next batch overlaps writing this one.
//
// The profile of a 512 MiB dump had 56% of its time in copying into the page cache (write) and
// 25% in reading the process, the zero check and the checksum: done one after the other, all of it
// was frozen time; overlapped, the dump takes about as long as the write alone.
#pragma once

#include <sys/uio.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/error.h"

namespace cryo::dump {

class WriteBehind {
 public:
  struct Batch {
    char* data = nullptr;       // `buffer_bytes` bytes, page-aligned.
    std::vector<iovec> pieces;  // What the writer writes, in order: parts of `data`.
  };
  // Writes one batch; runs on the writer thread, batch after batch in the order submitted. After
  // its first error it is not called again.
  using Sink = std::function<Result<>(const Batch&)>;

  // `count` buffers of `buffer_bytes` each (a multiple of the page size). Without a thread to be
  // had, submit() writes each batch itself.
  static Result<std::unique_ptr<WriteBehind>> start(size_t count, size_t buffer_bytes, Sink sink);
  // One buffer and no thread: submit() writes the batch itself. For what fits in one batch, where
  // nothing could overlap the write: a tree of 1,000 small processes otherwise started 1,000
  // writer threads and mapped 3,000 buffers of 8 MiB.
  static Result<std::unique_ptr<WriteBehind>> start_inline(size_t buffer_bytes, Sink sink);
  // Stops the writer; batches not written yet are dropped (finish() writes them).
  ~WriteBehind();
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  // A free buffer, once the writer has handed one back; the writer's error if it failed.
  Result<Batch*> next();
  // Queues a batch from next() for writing.
  Result<> submit(Batch* batch);
  // Waits until every submitted batch is written and stops the writer: the first error.
  Result<> finish();

 private:
  WriteBehind(size_t buffer_bytes, Sink sink) : buffer_bytes_(buffer_bytes), sink_(std::move(sink)) {}
  Result<> map_buffers(size_t count);
  void run();

  size_t buffer_bytes_;
  Sink sink_;
  std::vector<Batch> batches_;
  std::vector<void*> buffers_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch*> free_, queued_;
  bool busy_ = false;  // The writer holds a batch.
  bool stop_ = false;
  std::optional<Error> error_;
  std::thread writer_;
};

}  // namespace cryo::dump
