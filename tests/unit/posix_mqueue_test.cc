// POSIX message queues of sysv.img: the status text a queue's file reads at dump, validation before
// restore (hostile names, attributes, messages, sysctls and fds), and the limits restore raises so
// that it can create the queues.
#include <fcntl.h>

#include <gtest/gtest.h>

#include "dump/posix_mqueues.h"
#include "restore/image_validation.h"
#include "restore/posix_mqueues.h"

namespace cryo {
namespace {

TEST(PosixMqueueStatus, ParsesTheKernelsLine) {
  auto status = dump::parse_mqueue_status("QSIZE:129        NOTIFY:0     SIGNO:12    NOTIFY_PID:4242  \n");
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status->qsize, 129u);
  EXPECT_EQ(status->notify, 0);
  EXPECT_EQ(status->signo, 12);
  EXPECT_EQ(status->notify_pid, 4242);
  auto idle = dump::parse_mqueue_status("QSIZE:0          NOTIFY:0     SIGNO:0     NOTIFY_PID:0     \n");
  ASSERT_TRUE(idle);
  EXPECT_EQ(idle->notify_pid, 0);
}

TEST(PosixMqueueStatus, RefusesTextItCannotRead) {
  EXPECT_FALSE(dump::parse_mqueue_status(""));
  EXPECT_FALSE(dump::parse_mqueue_status("QSIZE:12 NOTIFY:0 SIGNO:0"));  // No NOTIFY_PID: a registration could hide.
  EXPECT_FALSE(dump::parse_mqueue_status("QSIZE:x NOTIFY:0 SIGNO:0 NOTIFY_PID:0"));
  EXPECT_FALSE(dump::parse_mqueue_status("QSIZE 12 NOTIFY_PID:0"));
}



// The fds of a queue of the namespace get its name; one of a queue it no longer holds (unlinked)
// or of another namespace's mqueue filesystem is refused, naming the process and fd.
TEST(PosixMqueueFds, AreTiedToTheirQueueOrRefused) {
  image::SysvIpc ipc;
  auto* q = ipc.add_posix_queues();
  q->set_name("one");
  q->set_queue_id(77);
  auto files_with = [](uint64_t dev, uint64_t ino) {
    std::map<pid_t, image::ProcessFiles> files;
    auto* fd = files[4242].add_fds();
    fd->set_fd(5);
    fd->set_kind(image::FD_POSIX_MQUEUE);
    fd->set_path("/one");
    fd->set_mqueue_id(ino);
    fd->mutable_identity()->set_dev(dev);
    fd->mutable_identity()->set_ino(ino);
    return files;
  };
  std::map<pid_t, uint32_t> inside = {{4242, 3}};
  auto files = files_with(19, 77);
  ASSERT_TRUE(dump::attach_mqueue_fds(ipc, 19, files, inside));
  EXPECT_EQ(files[4242].fds(0).path(), "/one");
  files = files_with(19, 78);
  auto unlinked = dump::attach_mqueue_fds(ipc, 19, files, inside);
  ASSERT_FALSE(unlinked);
  EXPECT_NE(unlinked.error().message.find("pid 3: fd 5 (/one) is a POSIX message queue unlinked while open"), std::string::npos)
      << unlinked.error().message;
  files = files_with(20, 77);
  auto other = dump::attach_mqueue_fds(ipc, 19, files, inside);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("of another IPC namespace than the tree's"), std::string::npos) << other.error().message;
}

// Two queues, one with messages in receive order; an fd of each; the five sysctls.
ImageSet valid_mqueue_image() {
  ImageSet set;
  set.namespaces.set_own_ipc(true);
  auto* q = set.sysv.add_posix_queues();
  q->set_name("cr_mq_one");
  q->set_queue_id(1001);
  q->set_mode(0640);
  q->set_uid(1234);
  q->set_gid(5678);
  q->set_maxmsg(8);
  q->set_msgsize(64);
  for (uint32_t priority : {9u, 5u, 5u, 0u}) {
    auto* m = q->add_messages();
    m->set_priority(priority);
    m->set_text(std::string(priority, 'x'));  // The last one is empty.
  }
  q = set.sysv.add_posix_queues();
  q->set_name("cr_mq_two");
  q->set_queue_id(1002);
  q->set_mode(0600);
  q->set_maxmsg(3);
  q->set_msgsize(6000);
  for (auto [name, value] : {std::pair{"queues_max", "100"}, {"msg_max", "2"}, {"msgsize_max", "4096"}, {"msg_default", "10"},
                             {"msgsize_default", "8192"}}) {
    auto* sysctl = set.sysv.add_mqueue_sysctls();
    sysctl->set_name(name);
    sysctl->set_value(value);
  }
  ProcessImage process;
  process.entry.set_pid(1);
  auto* fd = process.files.add_fds();
  fd->set_fd(3);
  fd->set_kind(image::FD_POSIX_MQUEUE);
  fd->set_flags(O_RDWR | O_NONBLOCK);
  fd->set_path("/cr_mq_one");
  fd->set_mqueue_id(1001);
  fd = process.files.add_fds();
  fd->set_fd(4);
  fd->set_kind(image::FD_POSIX_MQUEUE);
  fd->set_flags(O_WRONLY);
  fd->set_path("/cr_mq_two");
  fd->set_mqueue_id(1002);
  set.processes.push_back(std::move(process));
  return set;
}

std::string problems_text(const ImageSet& set) {
  std::vector<std::string> problems;
  restore::validate_posix_mqueues(set, &problems);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  return all;
}

TEST(PosixMqueueValidation, AValidImageHasNoProblem) { EXPECT_EQ(problems_text(valid_mqueue_image()), ""); }

TEST(PosixMqueueValidation, RefusesHostileQueuesSysctlsAndFds) {
  auto check = [](auto change, const char* mentions) {
    ImageSet set = valid_mqueue_image();
    change(set);
    std::string all = problems_text(set);
    EXPECT_NE(all.find(mentions), std::string::npos) << "expected '" << mentions << "' in:\n" << all;
  };
  auto queue = [](ImageSet& s) { return s.sysv.mutable_posix_queues(0); };
  check([](ImageSet& s) { s.namespaces.set_own_ipc(false); }, "of a tree without an IPC namespace of its own");
  check([&](ImageSet& s) { queue(s)->set_name("../etc"); }, "without '/' or NUL");
  check([&](ImageSet& s) { queue(s)->set_name(""); }, "without '/' or NUL");
  check([&](ImageSet& s) { queue(s)->set_name(".."); }, "without '/' or NUL");
  check([&](ImageSet& s) { queue(s)->set_name(std::string(256, 'q')); }, "without '/' or NUL");
  check([&](ImageSet& s) { queue(s)->set_name(std::string("a\0b", 3)); }, "without '/' or NUL");
  check([](ImageSet& s) { s.sysv.mutable_posix_queues(1)->set_name("cr_mq_one"); }, "a second queue with this name");
  check([](ImageSet& s) { s.sysv.mutable_posix_queues(1)->set_queue_id(1001); }, "is 0 or not unique");
  check([&](ImageSet& s) { queue(s)->set_mode(04640); }, "has more than permission bits");
  check([&](ImageSet& s) { queue(s)->set_maxmsg(0); }, "mq_maxmsg 0 is outside");
  check([&](ImageSet& s) { queue(s)->set_maxmsg(65537); }, "mq_maxmsg 65537 is outside");
  check([&](ImageSet& s) { queue(s)->set_msgsize(-1); }, "mq_msgsize -1 is outside");
  check([&](ImageSet& s) { queue(s)->set_msgsize((16 << 20) + 1); }, "is outside 1..16777216");
  check([&](ImageSet& s) { queue(s)->set_maxmsg(3); }, "4 messages, more than its mq_maxmsg 3");
  check([&](ImageSet& s) { queue(s)->mutable_messages(0)->set_text(std::string(65, 'x')); }, "65 bytes, more than its mq_msgsize 64");
  check([&](ImageSet& s) { queue(s)->mutable_messages(3)->set_priority(32768); }, "priority 32768, not below 32768");
  check([&](ImageSet& s) { queue(s)->mutable_messages(3)->set_priority(6); }, "not in the order a receive gives");
  check([](ImageSet& s) {
    for (int i = 0; i < 1025; ++i) {
      auto* q = s.sysv.add_posix_queues();
      q->set_name("q" + std::to_string(i));
      q->set_queue_id(5000 + static_cast<uint64_t>(i));
      q->set_maxmsg(1);
      q->set_msgsize(1);
    }
  }, "POSIX message queues, more than the kernel allows");
  check([](ImageSet& s) { s.sysv.mutable_mqueue_sysctls(0)->set_name("../../kernel/core_pattern"); }, "is not one of the IPC namespace's");
  check([](ImageSet& s) { s.sysv.mutable_mqueue_sysctls(1)->set_name("queues_max"); }, "fs.mqueue sysctl queues_max twice");
  check([](ImageSet& s) { s.sysv.mutable_mqueue_sysctls(1)->set_value("0"); }, "fs.mqueue.msg_max: value '0' is not a number in 1..65536");
  check([](ImageSet& s) { s.sysv.mutable_mqueue_sysctls(2)->set_value("64"); }, "msgsize_max: value '64' is not a number in 128..");
  check([](ImageSet& s) { s.sysv.mutable_mqueue_sysctls(0)->set_value("1 2"); }, "queues_max: value '1 2' is not a number");
  check([](ImageSet& s) { s.sysv.mutable_mqueue_sysctls(0)->set_value("99999999999999999999"); }, "queues_max: value '9999");
  check([](ImageSet& s) { s.sysv.mutable_mqueue_sysctls(0)->set_value("-"); }, "queues_max: value '-' is not a number");
  check([](ImageSet& s) { s.processes[0].files.mutable_fds(0)->set_mqueue_id(77); }, "fd 3 (POSIX message queue): queue 77 is not in sysv.img");
  check([](ImageSet& s) { s.processes[0].files.mutable_fds(0)->set_path("/cr_mq_two"); }, "is not the name of queue 1001");
  check([](ImageSet& s) { s.processes[0].files.mutable_fds(1)->set_flags(O_WRONLY | O_APPEND); }, "are more than an access mode");
}

// The image's msg_max (2) and msgsize_max (4096) are below what its queues have (8, 6000): raised
// while the queues are made; queues_max (100) already allows two; the defaults are no limits.
TEST(PosixMqueueLimits, RaisesWhatTheQueuesNeed) {
  auto limits = restore::raised_mqueue_limits(valid_mqueue_image().sysv);
  ASSERT_EQ(limits.size(), 3u);
  EXPECT_EQ(limits[0].name(), "queues_max");
  EXPECT_EQ(limits[0].value(), "100");
  EXPECT_EQ(limits[1].name(), "msg_max");
  EXPECT_EQ(limits[1].value(), "8");
  EXPECT_EQ(limits[2].name(), "msgsize_max");
  EXPECT_EQ(limits[2].value(), "6000");
}

}  // namespace
}  // namespace cryo
