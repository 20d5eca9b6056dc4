// The page server of `cryo restore --lazy`: one thread that answers the userfaultfds of the restored
// processes (restore/lazy_pages.h). Before the release it answers only faults (the restore's own
// syscalls touch lazy memory: a thread's TID, an rseq area); once the tree runs it serves every
// fault first, with UFFDIO_COPY of the pending piece around it, and fills the rest in address order
// in between, until every stored page is in place. Then it gives the init its own parent-death
// signal back and closes the userfaultfds, which unregisters them: nothing of cryo is left.
//
// The tree must never run on without it while pages are missing: a closed userfaultfd unregisters
// its ranges, and their missing pages would read as zeros. So the tree's init has SIGKILL as its
// parent-death signal meanwhile, and its parent is the thread that made it, which lives until the
// server is done: if cryo dies (even by SIGKILL), the kernel kills the init, and with it the whole
// PID namespace. A process that forks while pages are missing hands its child's userfaultfd to the
// server (UFFD_FEATURE_EVENT_FORK), which serves the child the same way.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/dir_fd.h"
#include "base/error.h"
#include "base/unique_fd.h"
#include "image/page_data.h"
#include "restore/lazy_pages.h"

namespace cryo::restore {

class PageServer {
 public:
  static Result<std::unique_ptr<PageServer>> start();
  // Stops serving and closes every userfaultfd; the caller has killed the tree by then if pages
  // were still missing.
  ~PageServer();
  PageServer(const PageServer&) = delete;
  PageServer& operator=(const PageServer&) = delete;

  // Serves `uffd`, registered in process `pid` (host PID `host_pid`), from `pages`, for `pending`.
  void add(uint32_t pid, pid_t host_pid, UniqueFd uffd, std::shared_ptr<image::PageData> pages, PendingPages pending);
  // Checksums the pages file `name` once the tree runs, against the inventory's `xxh3`: restore
  // --lazy does not wait for it before the release. A mismatch kills the tree before the server ends.
  void checksum_later(std::shared_ptr<const DirFd> dir, std::string name, uint64_t size, uint64_t xxh3);
  // The tree runs: fill in the background from now on. `init` is the init's host PID and
  // `init_pdeath_signal` the parent-death signal its image gives it, set again once all is in place.
  void release(pid_t init, int init_pdeath_signal);
  // Until every stored page is in place (or the processes are gone), then the userfaultfds are closed.
  Result<> wait();

 private:
  struct Client;
  PageServer() = default;
  void run();
  void take_incoming();
  Result<bool> handle_messages(Client& client);
  Result<> serve_fault(Client& client, uint64_t address);
  Result<> fill_some(uint64_t max_bytes);
  Result<> copy(Client& client, const PagePiece& piece, uint64_t fault_address);
  void finish();
  Result<> checksums_match();

  struct LaterChecksum {
    std::shared_ptr<const DirFd> dir;
    std::string name;
    uint64_t size;
    uint64_t xxh3;
  };
  std::vector<LaterChecksum> later_;
  std::thread checker_;
  std::optional<Error> checksum_error_;  // Set by checker_.

  UniqueFd wake_;  // An eventfd: add(), release() and the destructor wake the thread with it.
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Client>> incoming_;  // Under mutex_.
  std::vector<std::unique_ptr<Client>> clients_;   // The thread's own.
  std::atomic<bool> released_{false};
  std::atomic<bool> stop_{false};
  pid_t init_ = 0;
  int init_pdeath_signal_ = 0;
  std::optional<Error> failed_;  // Set by the thread before it ends.
  std::chrono::steady_clock::time_point released_at_;
  uint64_t fault_bytes_ = 0, filled_bytes_ = 0, faults_ = 0;
};

// `cryo restore --lazy --detach`: the restore goes on in a child, which stays behind as the page
// server and parent of the tree's init until every page is in place; this process only waits until
// the child printed the PID (or failed), and then returns. Returns nothing in the child, which gets
// the pipe end to report on (`detached_report`), and the exit status to return in this process.
Result<std::optional<int>> fork_lazy_server(UniqueFd* detached_report);

// In the child, once the PID is printed: the waiting process returns with 0, and the server lets
// go of the terminal (stdin, stdout and stderr become /dev/null; the restore log goes on).
void report_detached(UniqueFd& detached_report);

}  // namespace cryo::restore
