// mm-<pid>.img: every VMA of a process, classified into what restore can rebuild, or refused with
// the reason when it cannot.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "dump/memory_objects.h"
#include "kernel/proc_maps.h"
#include "mm.pb.h"

namespace cryo::dump {

// The kind of a VMA, or an error naming the mapping and the kind restore cannot rebuild yet
// (SysV shm, named shared anonymous memory, private mappings of shmem, device and hugetlb memory).
// Shared anonymous memory is VMA_ANON_SHARED; memfds and deleted files are VMA_FILE_*.
Result<image::VmaKind> classify_vma(const MapsEntry& entry);

// The refusal of a SysV mapping (VMA_SYSV_SHM) in a tree that shares the host's IPC namespace.
Error host_sysv_refusal(const MapsEntry& entry);

// Builds the memory map of a process from its smaps, with the identity of every backing file
// (read through /proc/PID/map_files, which reaches the file even in another mount namespace).
// Shared anonymous memory, memfds and deleted files go to `objects`, and their VMAs name the object.
Result<image::MemoryMap> collect_memory_map(pid_t pid, const std::vector<MapsEntry>& maps, MemoryObjectCollector& objects);

// The special mappings ([vvar], [vvar_vclock], [vdso], [vsyscall]) of a memory map, in order.
std::vector<const image::Vma*> special_mappings(const image::MemoryMap& mm);

// "mapping 7f00..-7f00.. (/path)" for messages.
std::string describe_mapping(const MapsEntry& entry);

}  // namespace cryo::dump
