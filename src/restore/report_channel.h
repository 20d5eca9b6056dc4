// How placeholders tell the restoring cryo that they are ready or why they failed. One datagram
// socket pair: every placeholder inherits the sending end, cryo keeps the receiving end with
// SO_PASSCRED, so the kernel attaches each sender's PID translated into cryo's (the host's) PID
// namespace. That is how cryo learns the host PID of a process it only knows by its PID inside.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace cryo::restore {

enum class ReportKind : uint32_t {
  RootCreated = 1,  // From the helper: value = host PID of the tree's init.
  Ready = 2,        // From a placeholder: created, files in place, waiting to be seized.
  Failed = 3,       // From the helper or a placeholder: text says which step failed and why.
};

struct Report {
  ReportKind kind{};
  uint32_t ns_pid = 0;   // PID inside the namespace (0 from the helper).
  uint64_t value = 0;
  std::string text;
  pid_t sender = 0;      // Host PID of the sender, from the kernel.
};

class ReportChannel {
 public:
  // Creates the pair; both ends land at fd numbers >= min_fd so image fds never collide with them.
  static Result<ReportChannel> create(int min_fd);

  int sender_fd() const { return sender_.get(); }
  // Cryo closes its copy of the sending end once every writer has inherited one, so that it sees a
  // closed channel when all of them are gone.
  void close_sender() { sender_.reset(); }
  // For placeholders: the receiving end is cryo's alone.
  void close_receiver() { receiver_.reset(); }

  // Waits up to `timeout` for one report; nullopt on timeout.
  Result<std::optional<Report>> receive(std::chrono::milliseconds timeout);

 private:
  UniqueFd receiver_;
  UniqueFd sender_;
};

// Sends one report; used in forked children, so it only makes syscalls and cannot fail loudly.
void send_report(int fd, ReportKind kind, uint32_t ns_pid, uint64_t value, std::string_view text);

}  // namespace cryo::restore
