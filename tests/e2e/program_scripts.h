// Programs from Debian's packages in the tests: scripts that hold state in memory, print READY,
// and on SIGUSR1 check it and print PASS, and the round trip they go through (checkpoint_programs,
// checkpoint_procfiles and other_host tests).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {

// Writes `text` to `name` in the session's directory, so that the script's processes are found by its path.
inline std::string write_script(const CheckpointSession& session, const std::string& name, const std::string& text) {
  std::string path = session.dir() / name;
  std::ofstream(path) << text;
  return path;
}

// Starts `argv` with a 3-day uptime, dumps it mid-loop, restores it and expects its own check to pass.
inline void expect_program_survives(CheckpointSession& session, const std::vector<std::string>& argv) {
  pid_t init = session.start_command(argv, {"--uptime", "3d"});
  ASSERT_GT(init, 0);
  // Let it run a little, so the dump catches it mid-loop rather than at its first instruction.
  usleep(300 * 1000);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  usleep(200 * 1000);
  session.expect_pass_after_check(restored);
}

// python3: 2 MiB of data with its digest, a dict and a list, and a loop.
inline constexpr const char* kPython = R"(
import hashlib, os, signal, sys, time
data = bytes(range(256)) * 8192
digest = hashlib.sha256(data).hexdigest()
state = {"ticks": 0, "words": ["cryo %d" % i for i in range(5000)]}
started = time.monotonic()
def check(signo, frame):
    problems = []
    if hashlib.sha256(data).hexdigest() != digest: problems.append("its 2 MiB of data changed")
    if os.getpid() != 1: problems.append("getpid() is %d" % os.getpid())
    if state["ticks"] < 1: problems.append("the loop never ran")
    if state["words"][4999] != "cryo 4999": problems.append("its list changed")
    if time.monotonic() < started: problems.append("CLOCK_MONOTONIC went backwards")
    for p in problems: print("FAIL: " + p, flush=True)
    print("ticks=%d" % state["ticks"], flush=True)
    if not problems: print("PASS", flush=True)
    os._exit(1 if problems else 0)
signal.signal(signal.SIGUSR1, check)
print("READY", flush=True)
while True:
    state["ticks"] += 1
    time.sleep(0.01)
)";

// The loop forks `sleep` every round, so the dump catches a tree of bash and a child (or bash in
// wait4 for one). The secret, drawn at start, must be the same after restore.
inline constexpr const char* kBash = R"(
n=0
secret=$((RANDOM * 32768 + RANDOM))
echo "secret=$secret"
check() {
  echo "after: n=$n"
  echo "after: secret=$secret"
  if [ "$$" -eq 1 ]; then echo PASS; exit 0; fi
  echo "FAIL: pid=$$"; exit 1
}
trap check USR1
trap 'echo "before: n=$n"' USR2
echo READY
while :; do n=$((n + 1)); sleep 0.05; done
)";

}  // namespace cryo::e2e
