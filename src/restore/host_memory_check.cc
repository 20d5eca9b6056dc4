#include "restore/host_memory_check.h"

#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/page_size.h"

namespace cryo::restore {
namespace {

// The kB value of "Name:   123 kB" in meminfo, 0 when the line is missing.
uint64_t meminfo_kib(std::string_view text, std::string_view name) {
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    std::string_view line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ':')
      return std::strtoull(std::string(line.substr(name.size() + 1)).c_str(), nullptr, 10);
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return 0;
}

}  // namespace

uint64_t parse_memory_and_swap(std::string_view meminfo) {
  return (meminfo_kib(meminfo, "MemTotal") + meminfo_kib(meminfo, "SwapTotal")) * 1024;
}

void check_object_memory(const ImageSet& set, uint64_t memory_bytes, HostCheck* out) {
  if (memory_bytes == 0) return;
  uint64_t stored = 0;
  // Saturating: this check also runs on images that validation refuses.
  auto add = [&](const google::protobuf::RepeatedPtrField<image::ObjectRun>& runs) {
    for (const auto& run : runs) {
      uint64_t bytes = run.nr_pages() > UINT64_MAX / kPageSize ? UINT64_MAX : run.nr_pages() * kPageSize;
      stored = bytes > UINT64_MAX - stored ? UINT64_MAX : stored + bytes;
    }
  };
  for (const auto& object : set.objects.objects())
    if (object.kind() == image::OBJECT_SHMEM || object.kind() == image::OBJECT_MEMFD) add(object.runs());
  for (const auto& segment : set.sysv.segments()) add(segment.runs());  // SysV segments are shmem too.
  if (stored > memory_bytes)
    out->problems.push_back("the image's shared memory (anonymous, memfds, SysV segments) holds " + std::to_string(stored) +
                            " bytes of data, more than this host's memory and swap (" + std::to_string(memory_bytes) + " bytes)");
}

}  // namespace cryo::restore
