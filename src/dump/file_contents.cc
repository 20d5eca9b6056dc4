#include "dump/file_contents.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/logging.h"
#include "image/image_dir.h"
#include "kernel/elf_file.h"

namespace cryo::dump {
namespace {

auto log() { return logging::get("dump"); }

int64_t mtime_ns(const struct stat& st) { return int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec; }

// Reads what identifies one open file by its content.
void fingerprint(int fd, image::FileContent& out) {
  struct stat before;
  if (::fstat(fd, &before) != 0) return;
  out.set_size(uint64_t(before.st_size));
  out.set_mtime_ns(mtime_ns(before));
  out.set_build_id(elf::build_id_of_fd(fd, out.size()));
  if (out.size() > kContentHashLimit) return;
  auto sum = image::checksum_fd(fd, out.path());
  struct stat after;
  if (!sum || ::fstat(fd, &after) != 0 || after.st_size != before.st_size || mtime_ns(after) != mtime_ns(before)) {
    log()->debug("{}: not hashed ({})", out.path(), sum ? "it changed while it was read" : sum.error().message);
    return;
  }
  out.set_hashed(true);
  out.set_xxh3(*sum);
}

}  // namespace

FileContentCollector::FileContentCollector() {
  // Without a thread to be had, finish() hashes the files itself.
  try {
    worker_ = std::thread([this] { work(); });
  } catch (const std::system_error&) {
  }
}

FileContentCollector::~FileContentCollector() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    jobs_.clear();
  }
  wake_.notify_one();
  if (worker_.joinable()) worker_.join();
}

void FileContentCollector::add(const std::string& source, const image::FileIdentity& id, const std::string& path) {
  if (!S_ISREG(id.mode())) return;
  auto [it, fresh] = index_.try_emplace({id.dev(), id.ino()}, files_.size());
  if (!fresh) return;
  image::FileContent& file = files_.emplace_back();
  file.set_dev(id.dev());
  file.set_ino(id.ino());
  file.set_path(path);
  file.set_size(id.size());
  file.set_mtime_ns(id.mtime_ns());
  file.set_mode(id.mode());
  // Opening through the process's link is cheap and pins the very file; reading it is the worker's.
  UniqueFd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    log()->debug("{} ({}): not hashed, cannot open it: {}", path, source, std::strerror(errno));
    return;
  }
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back({it->second, std::move(fd), path});
  }
  wake_.notify_one();
}

void FileContentCollector::add_mapped(pid_t pid, const image::ProcessCore& core, const image::MemoryMap& mm) {
  std::string proc = "/proc/" + std::to_string(pid);
  if (!core.mm().exe().empty()) add(proc + "/exe", core.mm().exe_identity(), core.mm().exe());
  for (const auto& vma : mm.vmas()) {
    if (vma.kind() != image::VMA_FILE_PRIVATE && vma.kind() != image::VMA_FILE_SHARED) continue;
    if (vma.object_id() != 0) continue;  // A memfd or deleted file: its contents are in the image.
    char range[64];
    std::snprintf(range, sizeof range, "/map_files/%lx-%lx", static_cast<unsigned long>(vma.start()), static_cast<unsigned long>(vma.end()));
    add(proc + range, vma.file(), vma.path());
  }
}

void FileContentCollector::add_open(pid_t pid, const image::ProcessFiles& files) {
  for (const auto& fd : files.fds()) {
    if (fd.kind() != image::FD_REGULAR || (fd.flags() & O_ACCMODE) != O_RDONLY) continue;
    add("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd.fd()), fd.identity(), fd.path());
  }
}

void FileContentCollector::work() {
  for (;;) {
    Job job;
    image::FileContent file;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // Stopping, and nothing left to do.
      job = std::move(jobs_.front());
      jobs_.pop_front();
      file.set_path(job.path);
    }
    fingerprint(job.fd.get(), file);
    std::lock_guard lock(mutex_);
    results_.emplace_back(job.index, std::move(file));
  }
}

image::FileContents FileContentCollector::finish() {
  auto started = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;  // The worker drains the queue, then returns.
  }
  wake_.notify_one();
  if (worker_.joinable())
    worker_.join();
  else
    work();
  image::FileContents out;
  out.set_hash_limit(kContentHashLimit);
  uint64_t hashed = 0, bytes = 0;
  for (auto& [index, result] : results_) {
    image::FileContent& file = files_[index];
    file.set_size(result.size());
    file.set_mtime_ns(result.mtime_ns());
    file.set_build_id(result.build_id());
    file.set_hashed(result.hashed());
    file.set_xxh3(result.xxh3());
    hashed += result.hashed();
    bytes += result.hashed() ? result.size() : 0;
  }
  for (auto& file : files_) *out.add_files() = std::move(file);
  log()->debug("{} files identified by content ({} hashed, {} KiB); waited {:.2f} ms for the hashing", out.files_size(), hashed,
               bytes / 1024, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
  return out;
}

}  // namespace cryo::dump
