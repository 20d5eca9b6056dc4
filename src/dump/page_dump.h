// pages-<pid>.img and pagemap-<pid>.img: the contents of a process's private memory.
//
// Only pages that hold the process's own data are stored: present or swapped-out pages of private
// mappings that are not the file's page cache (pagemap), and of those, in anonymous memory, only
// the pages that are not all zero (a fresh anonymous mapping reads as zeros anyway). In a private
// file mapping a zero page written by the process is stored too, since the file shows through
// where no page is restored.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "dump/kept_pages.h"
#include "dump/page_index.h"
#include "kernel/proc_pagemap.h"
#include "mm.pb.h"
#include "pagemap.pb.h"

namespace cryo::dump {

struct DumpedPages {
  image::Pagemap pagemap;  // Indexes the pages file.
  uint64_t xxh3 = 0;       // XXH3-64 of the whole pages file, as written.
};

// Copies the pages of a stopped process into `out` (the new, empty pages file) and returns the
// pagemap that indexes them, with the pages file's checksum. With `compress`, `out` is the
// zpages-<pid>.img file: the page data goes there as zstd chunks, which the pagemap's compression
// table lists. `on_read`, when given, is told the bytes of each batch read from the process (for
// the progress line).
Result<DumpedPages> dump_pages(pid_t pid, const image::MemoryMap& mm, UniqueFd out, bool compress = false,
                               const std::function<void(uint64_t)>& on_read = {});

// A pages file written in several passes (dump/pre_copy.h): each pass appends the pages of the
// ranges it is given and returns the runs it stored, and the file's size and checksum cover every
// pass. The caller builds the final pagemap from the runs of all passes. After a failed pass the
// file is of no use.
class PagePasses {
 public:
  static Result<PagePasses> create(pid_t pid, UniqueFd out, bool compress);
  PagePasses(PagePasses&&) noexcept;
  PagePasses& operator=(PagePasses&&) noexcept;
  ~PagePasses();

  // Copies the pages of `ranges` (each with whether its zero pages are left out: anonymous memory)
  // and returns the runs stored, in the order given.
  Result<std::vector<image::PageRun>> append(const std::vector<std::pair<PageRange, bool>>& ranges);
  // Ends the file; the runs of `index` become its pagemap.
  Result<DumpedPages> finish(const PageIndex& index);

 private:
  struct State;
  explicit PagePasses(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace cryo::dump
