// The signal state's home (state/process/signals.h): the answers injected calls leave in scratch
// memory become the image's records, and its validation refuses what restore could not set.
#include <signal.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "state/process/signals.h"

namespace cryo {
namespace {

constexpr uint64_t kSaRestorer = 0x04000000;  // SA_RESTORER: the kernel's, not in glibc's headers.

std::vector<std::string> problems_of(const image::ProcessCore& core) {
  std::vector<std::string> out;
  validate_signals(core, [&](const std::string& p) { out.push_back(p); });
  return out;
}

image::ProcessCore valid_core() {
  image::ProcessCore core;
  auto* t = core.add_threads();
  t->set_tid(1);
  t->mutable_altstack()->set_flags(SS_DISABLE);
  std::vector<char> answer(kSigactionsAnswerSize, 0);
  read_sigactions(answer.data(), core);
  return core;
}

TEST(SignalState, ReadsEveryHandlerButKillAndStop) {
  std::vector<char> answer(kSigactionsAnswerSize, 0);
  kernel_abi::Sigaction usr1{0x401000, SA_RESTART | kSaRestorer, 0x402000, 1ull << (SIGUSR2 - 1)};
  std::memcpy(answer.data() + SIGUSR1 * sizeof usr1, &usr1, sizeof usr1);
  image::ProcessCore core;
  read_sigactions(answer.data(), core);
  ASSERT_EQ(core.sigactions_size(), 62);
  for (const auto& a : core.sigactions()) {
    EXPECT_NE(a.signo(), static_cast<uint32_t>(SIGKILL));
    EXPECT_NE(a.signo(), static_cast<uint32_t>(SIGSTOP));
    if (a.signo() != SIGUSR1) continue;
    EXPECT_EQ(a.handler(), 0x401000u);
    EXPECT_EQ(a.flags(), static_cast<uint64_t>(SA_RESTART | kSaRestorer));
    EXPECT_EQ(a.restorer(), 0x402000u);
    EXPECT_EQ(a.mask(), 1ull << (SIGUSR2 - 1));
  }
}

TEST(SignalState, ReadsTheAlternateStack) {
  kernel_abi::Stack ss{0x7f0000000000, SS_ONSTACK, 0, 65536};
  char answer[kSigaltstackAnswerSize];
  std::memcpy(answer, &ss, sizeof ss);
  image::ThreadCore thread;
  read_sigaltstack(answer, thread);
  EXPECT_EQ(thread.altstack().sp(), 0x7f0000000000u);
  EXPECT_EQ(thread.altstack().flags(), static_cast<uint32_t>(SS_ONSTACK));
  EXPECT_EQ(thread.altstack().size(), 65536u);
}

TEST(SignalState, AValidStateHasNoProblem) { EXPECT_TRUE(problems_of(valid_core()).empty()); }

TEST(SignalState, RefusesWhatRestoreCannotSet) {
  auto expect = [](void (*damage)(image::ProcessCore&), const std::string& text) {
    image::ProcessCore core = valid_core();
    damage(core);
    auto problems = problems_of(core);
    ASSERT_EQ(problems.size(), 1u) << text;
    EXPECT_NE(problems[0].find(text), std::string::npos) << problems[0];
  };
  expect([](auto& c) { c.mutable_sigactions(0)->set_signo(SIGKILL); }, "signal action for signal 9 is invalid or repeated");
  expect([](auto& c) { c.mutable_sigactions(1)->set_signo(c.sigactions(0).signo()); }, "invalid or repeated");
  expect([](auto& c) { c.mutable_sigactions(0)->set_handler(0xffff800000000000); }, "handler of signal 1");
  expect([](auto& c) { c.mutable_sigactions(0)->set_restorer(0xffff800000000000); }, "restorer of signal 1");
  expect([](auto& c) { c.mutable_threads(0)->add_pending(std::string(128, '\0')); }, "thread 1: a pending signal record");
  expect([](auto& c) { c.add_shared_pending("short"); }, "process-wide pending signal record");
  expect([](auto& c) {
    c.mutable_threads(0)->mutable_altstack()->set_flags(0);
    c.mutable_threads(0)->mutable_altstack()->set_sp(0x7ffffffff000);
    c.mutable_threads(0)->mutable_altstack()->set_size(1 << 20);
  }, "thread 1: signal stack");
}

TEST(SignalState, APendingSignalRecordIsOneSiginfoOfASignal) {
  image::ProcessCore core = valid_core();
  std::string info(128, '\0');
  int signo = SIGUSR1;
  std::memcpy(info.data(), &signo, sizeof signo);
  core.add_shared_pending(info);
  core.mutable_threads(0)->add_pending(info);
  EXPECT_TRUE(problems_of(core).empty());
}

}  // namespace
}  // namespace cryo
