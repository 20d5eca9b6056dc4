// Copy-on-write sharing between a process and its parent: after fork both map the same physical
// pages until one of them writes. Restore can only recreate that by mapping the pages in the
// parent before it forks the child (restore/shared_memory_plan.h), so the dump records which of
// the child's stored pages are the parent's very pages: the same frame number at the same address
// in /proc/PID/pagemap of both (frame numbers are shown to root only; without them nothing is
// recorded and restore gives each process its own copy, as before).
//
// The frames must be compared before any memory of the tree is read: process_vm_readv pins the
// pages it reads, and the kernel (5.19+) gives a process its own copy of a shared anonymous page
// before pinning it, so after dump_pages a parent shares nothing with its children any more.
#pragma once

#include <sys/types.h>

#include <vector>

#include "base/dir_fd.h"
#include "base/error.h"
#include "kernel/proc_pagemap.h"
#include "pagemap.pb.h"

namespace cryo::dump {

// The present private pages of the stopped process `pid` that are the same physical pages as those
// of the stopped process `parent` at the same addresses. A parent whose pagemap cannot be read
// (a zombie has none) shares nothing.
Result<std::vector<PageRange>> find_pages_shared_with_parent(pid_t pid, pid_t parent);

// Fills `pagemap.shared_with_parent` with the stored pages (of `pagemap.runs`) that are in `shared`.
void record_shared_with_parent(const std::vector<PageRange>& shared, image::Pagemap& pagemap);

// Keeps in `child.shared_with_parent` only the pages whose bytes in the child's pages file
// (`child_pages` in `dir`) are the parent's at the same address. The frames were compared before
// anything ran in the tree again, but the dump itself resumes threads to run injected syscalls (and
// the kernel may write an rseq area then): a page written since is not the parent's any more.
// Returns the number of pages dropped.
Result<uint64_t> confirm_shared_bytes(const DirFd& dir, const std::string& child_pages, image::Pagemap& child,
                                      const std::string& parent_pages, const image::Pagemap& parent);

}  // namespace cryo::dump
