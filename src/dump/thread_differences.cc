#include "dump/thread_differences.h"

namespace cryo::dump {

Error thread_unlike_its_leader(pid_t tid, const std::string& what, const std::string& own, const std::string& leader,
                               const std::string& how) {
  return make_error("thread " + std::to_string(tid) + " has " + what + " " + own + " and its leader " + leader +
                    (how.empty() ? "" : " (" + how + ")") + ", which cryo cannot dump yet (restore gives every thread its leader's)");
}

}  // namespace cryo::dump
