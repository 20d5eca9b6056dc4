#include "base/threads.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "base/parallel_for.h"

namespace cryo {
namespace {

// A pids cgroup (v1, or v2 where its controller is on) that lets no new task in: inside it, every
// thread creation fails with EAGAIN, as under a fork bomb that has used up the system's tasks.
class NoTasksLeft {
 public:
  NoTasksLeft() {
    for (std::string root : {"/sys/fs/cgroup/pids", "/sys/fs/cgroup"}) {
      std::string dir = root + "/cryo-threads-test-" + std::to_string(::getpid());
      if (::access((root + "/pids.max").c_str(), F_OK) != 0 && ::access((root + "/cgroup.procs").c_str(), F_OK) != 0) continue;
      if (::mkdir(dir.c_str(), 0700) != 0) continue;
      if (::access((dir + "/pids.max").c_str(), F_OK) == 0) {
        dir_ = dir;
        return;
      }
      ::rmdir(dir.c_str());
    }
  }
  ~NoTasksLeft() {
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  bool usable() const { return !dir_.empty(); }

  // Runs `body` in a child process moved into the cgroup with room for itself alone; the test
  // passes when it exits 0.
  template <typename Body>
  int run(Body body) {
    pid_t child = ::fork();
    if (child == 0) {
      bool moved = write(dir_ + "/cgroup.procs", "0") && write(dir_ + "/pids.max", "1");
      ::_exit(moved ? body() : 100);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
  }

 private:
  static bool write(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    out.flush();
    return static_cast<bool>(out);
  }
  std::string dir_;
};

TEST(Threads, WithoutATaskToSpareTheWorkIsDoneInlineOrRefusedClearly) {
  NoTasksLeft cgroup;
  if (!cgroup.usable()) GTEST_SKIP() << "no pids cgroup to make thread creation fail in";
  EXPECT_EQ(cgroup.run([] {
    // The setting works: a plain thread cannot start.
    try {
      std::thread([] {}).join();
      return 1;
    } catch (const std::system_error&) {
    }
    std::atomic<int> done{0};
    std::thread t = thread_or_inline([&] { done = 1; });
    if (t.joinable() || done != 1) return 2;
    auto started = start_thread([] {}, "read the tree's things");
    if (started || started.error().message.find("no thread to read the tree's things") == std::string::npos) return 3;
    std::atomic<int> sum{0};
    auto all = parallel_for(64, [&](size_t i) {
      sum += static_cast<int>(i);
      return Result<>{};
    });
    if (!all || sum != 64 * 63 / 2) return 4;
    return 0;
  }), 0);
}

TEST(Threads, WithTasksToSpareTheWorkRunsOnItsOwnThread) {
  std::thread::id caller = std::this_thread::get_id(), ran_on;
  std::thread t = thread_or_inline([&] { ran_on = std::this_thread::get_id(); });
  ASSERT_TRUE(t.joinable());
  t.join();
  EXPECT_NE(ran_on, caller);
  auto started = start_thread([] {}, "x");
  ASSERT_TRUE(started.has_value());
  started->join();
}

}  // namespace
}  // namespace cryo
