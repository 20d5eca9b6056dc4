#include "restore/page_server.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "base/fault_injection.h"
#include "base/hex.h"
#include "base/logging.h"
#include "base/page_size.h"
#include "image/image_dir.h"
#include "ptrace/remote_syscalls.h"
#include "ptrace/tracee.h"

namespace cryo::restore {
namespace {

// A fault is answered with the pending pages of its aligned window: the next accesses of a thread
// that walks its memory are then already in place.
constexpr uint64_t kFaultWindow = 256 * 1024;
// The background fill copies this much between two looks at the faults.
constexpr uint64_t kFillBatch = 2 * 1024 * 1024;

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

void wake(int eventfd) {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(eventfd, &one, sizeof one);
}

// Sets the init's parent-death signal back to its image's, through a syscall run in its (running)
// leader: seized (which stops it), and left again with its registers and signal mask as they were.
Result<> set_parent_death_signal(pid_t init, int signal) {
  ASSIGN_OR_RETURN(Tracee tracee, Tracee::seize(init));
  ASSIGN_OR_RETURN(SyscallSite site, find_syscall_site(init));
  {
    ASSIGN_OR_RETURN(RemoteSyscalls calls, RemoteSyscalls::create(tracee, site));
    RETURN_IF_ERROR(calls.call("prctl(PR_SET_PDEATHSIG)", SYS_prctl, {PR_SET_PDEATHSIG, static_cast<uint64_t>(signal)}));
  }
  return tracee.detach();
}

}  // namespace

struct PageServer::Client {
  uint32_t pid = 0;   // In the tree; 0 for a child forked after the restore.
  pid_t host_pid = 0;  // 0 for a child forked after the restore.
  UniqueFd uffd;
  std::shared_ptr<image::PageData> pages;
  const char* data = nullptr;  // The pages file, mapped.
  PendingPages pending;
  std::vector<uint64_t> retry;  // Faults whose copy must be tried again (the mm was changing).
  bool gone = false;            // Its process exited.
  std::string name() const { return pid ? "pid " + std::to_string(pid) : "a child forked after the restore"; }
};

Result<std::unique_ptr<PageServer>> PageServer::start() {
  std::unique_ptr<PageServer> server(new PageServer());
  server->wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!server->wake_.valid()) return fail_errno("eventfd");
  try {
    server->thread_ = std::thread([s = server.get()] { s->run(); });
  } catch (const std::system_error& e) {
    return fail(errno_error("start the page server thread", e.code().value()));
  }
  return server;
}

PageServer::~PageServer() {
  stop_ = true;
  wake(wake_.get());
  if (thread_.joinable()) thread_.join();
  if (checker_.joinable()) checker_.join();
}

void PageServer::checksum_later(std::shared_ptr<const DirFd> dir, std::string name, uint64_t size, uint64_t xxh3) {
  later_.push_back({std::move(dir), std::move(name), size, xxh3});
}

Result<> PageServer::checksums_match() {
  if (checker_.joinable()) checker_.join();
  if (checksum_error_) return fail(*checksum_error_);
  return {};
}

void PageServer::add(uint32_t pid, pid_t host_pid, UniqueFd uffd, std::shared_ptr<image::PageData> pages, PendingPages pending) {
  auto client = std::make_unique<Client>();
  client->pid = pid;
  client->host_pid = host_pid;
  client->uffd = std::move(uffd);
  client->pages = std::move(pages);
  // Validated and not compressed (restore refuses --lazy for zpages): one chunk, the mapping itself.
  auto data = client->pages->chunk(0);
  client->data = data ? *data : nullptr;
  client->pending = std::move(pending);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    incoming_.push_back(std::move(client));
  }
  wake(wake_.get());
}

void PageServer::release(pid_t init, int init_pdeath_signal) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    init_ = init;
    init_pdeath_signal_ = init_pdeath_signal;
    released_at_ = std::chrono::steady_clock::now();
  }
  // On the other core, while the server copies: the same bytes the copies read, from the page cache.
  if (!later_.empty()) {
    try {
      checker_ = std::thread([this] {
        for (const auto& file : later_) {
          if (stop_) return;
          // The check opening the image skipped for this file, with its words.
          if (auto checked = image::check_image_file(*file.dir, file.name, file.size, file.xxh3); !checked) {
            checksum_error_ = make_error(file.dir->path() + ": image is damaged: " + checked.error().message)
                                  .with_hint("the image was changed after the dump; the restored tree was killed");
            return;
          }
        }
      });
    } catch (const std::system_error& e) {
      checksum_error_ = errno_error("start the page checksum thread", e.code().value());
    }
  }
  released_ = true;
  wake(wake_.get());
}

Result<> PageServer::wait() {
  if (thread_.joinable()) thread_.join();
  if (failed_) return fail(*failed_);
  return {};
}

void PageServer::take_incoming() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& client : incoming_) clients_.push_back(std::move(client));
  incoming_.clear();
}

Result<> PageServer::copy(Client& client, const PagePiece& piece, uint64_t fault_address) {
  if (!client.data) return fail(client.name() + ": no page data to serve from");
  uint64_t at = piece.start;
  while (at < piece.end) {
    uffdio_copy c{};
    c.dst = at;
    c.src = reinterpret_cast<uint64_t>(client.data + piece.offset + (at - piece.start));
    c.len = piece.end - at;
    if (::ioctl(client.uffd.get(), UFFDIO_COPY, &c) == 0) return {};
    int err = errno;
    if (c.copy > 0) {
      at += static_cast<uint64_t>(c.copy);
      continue;
    }
    switch (err) {
      case EEXIST: {
        // In place already (a fault raced the fill): a thread may still wait on it.
        uffdio_range page{at, kPageSize};
        ::ioctl(client.uffd.get(), UFFDIO_WAKE, &page);
        at += kPageSize;
        continue;
      }
      case EAGAIN:
        // The process is forking or remapping: its event comes first, then the copy again.
        client.pending.put_back({at, piece.end, piece.offset + (at - piece.start)});
        if (fault_address) client.retry.push_back(fault_address);
        return {};
      case ESRCH:
        client.gone = true;
        client.pending = PendingPages();
        return {};
      case ENOENT:
        // The mapping went (munmap raced its event): nothing of it to fill.
        return {};
      default:
        return fail(errno_error("ioctl(UFFDIO_COPY " + hex(at) + ", " + std::to_string(piece.end - at) + " bytes)", err)
                        .context(client.name()));
    }
  }
  return {};
}

Result<> PageServer::serve_fault(Client& client, uint64_t address) {
  address &= ~(kPageSize - 1);
  ++faults_;
  if (auto piece = client.pending.take_around(address, kFaultWindow)) {
    fault_bytes_ += piece->end - piece->start;
    return copy(client, *piece, address);
  }
  // A page the image has no data for (never touched, or discarded since): zeros, as without --lazy.
  uffdio_zeropage zero{};
  zero.range = {address, kPageSize};
  if (::ioctl(client.uffd.get(), UFFDIO_ZEROPAGE, &zero) == 0) return {};
  int err = errno;
  if (err == EEXIST) {
    uffdio_range page{address, kPageSize};
    ::ioctl(client.uffd.get(), UFFDIO_WAKE, &page);
    return {};
  }
  if (err == EAGAIN) {
    client.retry.push_back(address);
    return {};
  }
  if (err == ESRCH || err == ENOENT) return {};
  return fail(errno_error("ioctl(UFFDIO_ZEROPAGE " + hex(address) + ")", err).context(client.name()));
}

// Reads every queued message of one userfaultfd. False when the process is gone.
Result<bool> PageServer::handle_messages(Client& client) {
  uffd_msg messages[32];
  for (;;) {
    ssize_t n = ::read(client.uffd.get(), messages, sizeof messages);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    if (n < 0) return fail(errno_error("read(userfaultfd)").context(client.name()));
    for (size_t i = 0; i < static_cast<size_t>(n) / sizeof(uffd_msg); ++i) {
      const uffd_msg& m = messages[i];
      switch (m.event) {
        case UFFD_EVENT_PAGEFAULT:
          RETURN_IF_ERROR(serve_fault(client, m.arg.pagefault.address));
          break;
        case UFFD_EVENT_FORK: {
          // The child has what its parent had in place; what is missing in both is still the image's.
          auto child = std::make_unique<Client>();
          child->uffd = UniqueFd(static_cast<int>(m.arg.fork.ufd));
          child->pages = client.pages;
          child->data = client.data;
          child->pending = client.pending;
          std::lock_guard<std::mutex> lock(mutex_);
          incoming_.push_back(std::move(child));
          break;
        }
        case UFFD_EVENT_REMAP:
          client.pending.move(m.arg.remap.from, m.arg.remap.to, m.arg.remap.len);
          break;
        case UFFD_EVENT_REMOVE:
        case UFFD_EVENT_UNMAP:
          client.pending.drop(m.arg.remove.start, m.arg.remove.end);
          break;
        default:
          break;
      }
    }
  }
}

Result<> PageServer::fill_some(uint64_t max_bytes) {
  for (auto& client : clients_) {
    if (client->gone || client->pending.empty()) continue;
    auto piece = client->pending.take_first(max_bytes);
    filled_bytes_ += piece->end - piece->start;
    return copy(*client, *piece, 0);
  }
  return {};
}

void PageServer::run() {
  auto log = logging::get("restore");
  const bool hold = std::getenv(kLazyHoldVariable) != nullptr;
  bool fill_fault_checked = false;
  auto failed = [&](Error e) {
    // Pages are missing and no one will serve them: the tree must not run on (nor hang).
    log->error("page server: {}; killing the restored tree", e.message);
    for (const auto& client : clients_)
      if (client->host_pid > 0) ::kill(client->host_pid, SIGKILL);
    if (init_ > 0) ::kill(init_, SIGKILL);
    failed_ = std::move(e);
  };
  std::vector<pollfd> fds;
  while (!stop_) {
    take_incoming();
    bool pending = false;
    for (const auto& client : clients_) pending = pending || (!client->gone && !client->pending.empty());
    if (released_ && !pending) break;
    fds.clear();
    fds.push_back({wake_.get(), POLLIN, 0});
    for (const auto& client : clients_) fds.push_back({client->uffd.get(), POLLIN, 0});
    // Faults are answered as soon as they come; the fill runs in between, once the tree runs.
    int ready = ::poll(fds.data(), fds.size(), released_ && pending && !hold ? 0 : -1);
    if (ready < 0 && errno != EINTR) return failed(errno_error("poll(userfaultfd)"));
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      [[maybe_unused]] ssize_t n = ::read(wake_.get(), &count, sizeof count);
    }
    for (size_t i = 0; i < clients_.size(); ++i) {
      Client& client = *clients_[i];
      if (!(fds[i + 1].revents & (POLLIN | POLLERR))) continue;
      if (auto handled = handle_messages(client); !handled) return failed(handled.error());
    }
    for (auto& client : clients_) {
      std::vector<uint64_t> retry = std::move(client->retry);
      client->retry.clear();
      for (uint64_t address : retry)
        if (auto served = serve_fault(*client, address); !served) return failed(served.error());
    }
    if (released_ && pending && !hold) {
      if (auto filled = fill_some(kFillBatch); !filled) return failed(filled.error());
      if (!fill_fault_checked) {
        fill_fault_checked = true;
        if (auto injected = fault_point("lazy:serving"); !injected) return failed(injected.error());
      }
    }
  }
  if (stop_) return;
  // The tree has run on the pages files' bytes: if they are not the dump's, it must not go on.
  if (auto checked = checksums_match(); !checked) return failed(checked.error());
  finish();
}

void PageServer::finish() {
  auto log = logging::get("restore");
  // Every page is in place: the tree may outlive cryo now, with the parent-death signal it had.
  if (!stop_ && init_ > 0 && init_pdeath_signal_ != SIGKILL) {
    if (auto set = set_parent_death_signal(init_, init_pdeath_signal_); !set)
      log->warn("page server: the init's parent-death signal stays SIGKILL: {}", set.error().message);
  }
  if (!stop_)
    log->info("lazy: every page in place {:.1f} ms after the release ({} faults served with {} bytes, {} bytes filled in the background)",
              ms_since(released_at_), faults_, fault_bytes_, filled_bytes_);
  // Closing them unregisters every range: VmFlags lose um, and nothing of cryo is left in the tree.
  clients_.clear();
}

Result<std::optional<int>> fork_lazy_server(UniqueFd* detached_report) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return fail_errno("pipe2");
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t child = ::fork();
  if (child < 0) {
    int err = errno;
    ::close(ends[0]);
    ::close(ends[1]);
    return fail(errno_error("fork", err).context("start the page server"));
  }
  if (child == 0) {
    ::close(ends[0]);
    *detached_report = UniqueFd(ends[1]);
    // Its own session: a signal of the terminal the user started the restore from must not end
    // the server, and with it the tree.
    ::setsid();
    return std::optional<int>();
  }
  ::close(ends[1]);
  UniqueFd report(ends[0]);
  char byte = 0;
  ssize_t n;
  do n = ::read(report.get(), &byte, 1);
  while (n < 0 && errno == EINTR);
  if (n == 1) return std::optional<int>(0);
  // It failed (and said why on stderr) or died.
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(status)) return std::optional<int>(WEXITSTATUS(status));
  return std::optional<int>(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
}

void report_detached(UniqueFd& detached_report) {
  std::fflush(stdout);
  std::fflush(stderr);
  char byte = 1;
  [[maybe_unused]] ssize_t n = ::write(detached_report.get(), &byte, 1);
  detached_report.reset();
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return;
  for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
  ::close(null);
}

}  // namespace cryo::restore
