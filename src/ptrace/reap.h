// Collecting tasks that were just SIGKILLed, when cryo is their tracer or parent. A dead traced
// task stays a zombie until its tracer collects it, and a dying PID-namespace init waits for every
// task of its namespace to be reaped: waiting for them one by one, in whatever order, can wait
// forever on one whose death waits on another. So they are polled together, as they die.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <vector>

namespace cryo {

// Polls every task with waitpid(WNOHANG) until each has died and been collected, or is not cryo's
// to collect (ECHILD), or `bound` has passed. A task that reports a stop instead is resumed, so that
// it reaches its death. Returns the tasks still not collected at the end.
std::vector<pid_t> reap_killed(std::vector<pid_t> tids, std::chrono::milliseconds bound);

}  // namespace cryo
