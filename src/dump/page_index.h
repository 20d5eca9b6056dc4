// Where the latest copy of each stored page of a process is in its pages file, while pre-copy
// (dump/pre_copy.h) copies the same memory several times: a later copy of a page replaces the
// earlier one, a page found zero or gone is forgotten, and at the freeze only the pages that
// still hold what was copied are kept.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "kernel/proc_pagemap.h"
#include "pagemap.pb.h"

namespace cryo::dump {

class PageIndex {
 public:
  // The pages of `run` are stored at its offset from now on, whatever was known of them before.
  void store(const image::PageRun& run);
  // Forgets the pages of [start, end).
  void erase(uint64_t start, uint64_t end);
  // Forgets every page outside `keep` (sorted by address, not overlapping).
  void keep_only(const std::vector<PageRange>& keep);
  // Writes the runs, sorted by address, into a pagemap's field; neighbours merged where their bytes
  // follow each other in the file. Straight into the field: tens of thousands at the freeze of a
  // pre-copy, one message each, no copies.
  void write_runs(google::protobuf::RepeatedPtrField<image::PageRun>& out) const;
  uint64_t pages() const;

 private:
  struct Entry {
    uint64_t end;
    uint64_t offset;  // Of the entry's first page.
  };
  std::map<uint64_t, Entry> entries_;  // By start address; not overlapping.
};

}  // namespace cryo::dump
