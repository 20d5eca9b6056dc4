// The content identity of every file the tree maps or holds open read-only (contents.img): size,
// mtime, mode, ELF build-id and an XXH3-64 of the whole file, each distinct file read once however
// many processes map it. Restore on another host recognises the files by these, since device and
// inode numbers never match there.
//
// Where the hashing runs: files are opened during the freeze through the process's own /proc link
// (map_files, fd, exe), so what is hashed is the very file the process uses, whatever the mount
// namespace. The reading and hashing then happen in a worker thread while the dump goes on with
// pages and the other processes; only the commit waits for it. The tree is frozen meanwhile, so it
// cannot change the files itself; a writer outside the tree could, which a second fstat after the
// hash catches (the file is then recorded as not hashed, and restore compares size, mtime and
// build-id instead).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "core.pb.h"
#include "file_contents.pb.h"
#include "files.pb.h"
#include "mm.pb.h"

namespace cryo::dump {

// Files above this are not hashed: reading a huge file (a database, a model) would lengthen every
// dump. Above it, restore requires the same size, mtime and build-id, and its pre-flight says
// "not hashed".
constexpr uint64_t kContentHashLimit = 64ull << 20;

class FileContentCollector {
 public:
  FileContentCollector();
  ~FileContentCollector();
  FileContentCollector(const FileContentCollector&) = delete;
  FileContentCollector& operator=(const FileContentCollector&) = delete;

  // The executable and every mapped file of a frozen process (`pid` is its host PID).
  void add_mapped(pid_t pid, const image::ProcessCore& core, const image::MemoryMap& mm);
  // Its regular files open read-only (files open for writing are checked by path and length).
  void add_open(pid_t pid, const image::ProcessFiles& files);

  // Waits for the worker and returns every file's record.
  image::FileContents finish();

 private:
  struct Job {
    size_t index;
    UniqueFd fd;
    std::string path;  // For messages.
  };
  void add(const std::string& source, const image::FileIdentity& identity, const std::string& path);
  void work();

  std::vector<image::FileContent> files_;  // The caller's thread only; the worker hands back results_.
  std::map<std::pair<uint64_t, uint64_t>, size_t> index_;  // (dev, ino) -> files_ index.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  std::vector<std::pair<size_t, image::FileContent>> results_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace cryo::dump
