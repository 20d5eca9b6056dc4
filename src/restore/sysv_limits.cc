// raised_ipc_limits (restore/sysv_ipc.h): the IPC namespace's limits, raised for the objects that
// restore creates. The kernel checks them only when an object is created or a message sent.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "restore/sysv_ipc.h"

namespace cryo::restore {
namespace {

// The numbers of a sysctl's text (kernel.sem has four); validation made sure they are numbers.
std::vector<long long> numbers_of(const std::string& text) {
  std::vector<long long> numbers;
  const char* p = text.c_str();
  for (;;) {
    char* end = nullptr;
    long long value = std::strtoll(p, &end, 10);
    if (end == p) break;
    numbers.push_back(value);
    p = end;
  }
  return numbers;
}

std::string text_of(const std::vector<long long>& numbers) {
  std::string text;
  for (size_t i = 0; i < numbers.size(); ++i) text += (i ? "\t" : "") + std::to_string(numbers[i]);
  return text;
}

}  // namespace

std::vector<image::IpcSysctl> raised_ipc_limits(const image::SysvIpc& ipc) {
  constexpr long long kPage = 4096;
  long long largest_segment = 0, segment_pages = 0;
  for (const auto& s : ipc.segments()) {
    largest_segment = std::max<long long>(largest_segment, static_cast<long long>(s.size()));
    segment_pages += (static_cast<long long>(s.size()) + kPage - 1) / kPage;
  }
  long long widest_set = 0, semaphores = 0;
  for (const auto& set : ipc.sem_sets()) {
    widest_set = std::max<long long>(widest_set, set.values_size());
    semaphores += set.values_size();
  }
  long long longest_message = 0, largest_qbytes = 0;
  for (const auto& q : ipc.msg_queues()) {
    long long bytes = 0;
    for (const auto& m : q.messages()) {
      longest_message = std::max<long long>(longest_message, static_cast<long long>(m.text().size()));
      bytes += static_cast<long long>(m.text().size());
    }
    // What create_msg_queue gives the queue while it fills it (sysv_sem_msg.cc).
    largest_qbytes = std::max({largest_qbytes, static_cast<long long>(q.qbytes()), bytes, static_cast<long long>(q.messages_size())});
  }
  // For each limit, the least each of its numbers must be.
  auto needs = [&](const std::string& name) -> std::vector<long long> {
    if (name == "shmmax") return {largest_segment};
    if (name == "shmall") return {segment_pages};
    if (name == "shmmni") return {ipc.segments_size()};
    if (name == "msgmax") return {longest_message};
    if (name == "msgmnb") return {largest_qbytes};
    if (name == "msgmni") return {ipc.msg_queues_size()};
    if (name == "sem") return {widest_set, semaphores, 0, ipc.sem_sets_size()};  // semmsl semmns semopm semmni
    return {};
  };
  std::vector<image::IpcSysctl> limits;
  for (const auto& sysctl : ipc.sysctls()) {
    std::vector<long long> least = needs(sysctl.name());
    if (least.empty()) continue;  // The *_next_id ones.
    std::vector<long long> numbers = numbers_of(sysctl.value());
    if (numbers.size() != least.size()) continue;  // Validation refused it.
    for (size_t i = 0; i < numbers.size(); ++i) numbers[i] = std::max(numbers[i], least[i]);
    image::IpcSysctl limit;
    limit.set_name(sysctl.name());
    limit.set_value(text_of(numbers));
    limits.push_back(std::move(limit));
  }
  return limits;
}

}  // namespace cryo::restore
