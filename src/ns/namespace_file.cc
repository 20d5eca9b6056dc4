#include "ns/namespace_file.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>

#include "base/threads.h"
#include "base/unique_fd.h"

namespace cryo {
namespace {

// Reads `path` into `out`, up to `max_bytes` (one more is an EMSGSIZE failure). On the calling
// thread, which has joined the namespace.
Result<> read_bounded(const char* path, size_t max_bytes, std::string& out) {
  UniqueFd file(::open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!file.valid()) return fail_errno(std::string("open(") + path + ")");
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(file.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(std::string("read(") + path + ")");
    if (n == 0) return {};
    if (out.size() + static_cast<size_t>(n) > max_bytes) return fail(errno_error("read", EMSGSIZE));
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

Result<> run_in_namespace_of(pid_t pid, const char* ns_name, int nstype, const std::string& what,
                             const std::function<Result<>()>& work) {
  std::string where = what + " in the " + ns_name + " namespace of pid " + std::to_string(pid);
  // A thread may join these alone; a mount or user namespace only a whole single-threaded process.
  if (nstype != CLONE_NEWIPC && nstype != CLONE_NEWUTS && nstype != CLONE_NEWNET)
    return fail(where + ": a thread cannot join a " + ns_name + " namespace");
  std::string ns_path = "/proc/" + std::to_string(pid) + "/ns/" + ns_name;
  UniqueFd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return fail(errno_error("open(" + ns_path + ")").context(where));
  Result<> result;
  ASSIGN_OR_RETURN(std::thread worker, start_thread([&] {
    if (::setns(ns.get(), nstype) != 0) {
      result = fail(errno_error("setns(" + ns_path + ")").context(where));
      return;
    }
    result = work();
  }, where));
  worker.join();
  return result;
}

Result<std::string> read_file_in_namespace_of(pid_t pid, const char* ns_name, int nstype, const char* path,
                                              size_t max_bytes) {
  std::string what = std::string("reading ") + path;
  std::string content;
  RETURN_IF_ERROR(run_in_namespace_of(pid, ns_name, nstype, what, [&]() -> Result<> {
    std::string where = what + " in the " + ns_name + " namespace of pid " + std::to_string(pid);
    Result<> read = read_bounded(path, max_bytes, content);
    if (!read && read.error().err == EMSGSIZE) return fail(where + ": longer than " + std::to_string(max_bytes) + " bytes");
    RETURN_IF_ERROR_CTX(read, where);
    return {};
  }));
  return content;
}

}  // namespace cryo
