// Validation of the semaphore sets and message queues of sysv.img before restore (hostile values:
// huge sets, huge or untyped messages, bad ids), and the limits restore raises so that it can
// create them.
#include <gtest/gtest.h>

#include "restore/image_validation.h"
#include "restore/sysv_ipc.h"

namespace cryo::restore {
namespace {

// A set of 3 semaphores (id 65538, key 0x5e31) and a queue with two messages (id 32769).
ImageSet valid_sem_msg_image() {
  ImageSet set;
  set.namespaces.set_own_ipc(true);
  auto* s = set.sysv.add_sem_sets();
  s->set_id(65538);
  s->set_key(0x5e31);
  s->set_mode(0604);
  for (uint32_t v : {0u, 107u, 32767u}) s->add_values(v);
  auto* q = set.sysv.add_msg_queues();
  q->set_id(32769);
  q->set_key(0x3e51);
  q->set_mode(0620);
  q->set_qbytes(25000);
  auto* m = q->add_messages();
  m->set_type(3);
  m->set_text("hello");
  m = q->add_messages();
  m->set_type(1);  // An empty message is a message.
  auto add_sysctl = [&](const char* name, const char* value) {
    auto* sysctl = set.sysv.add_sysctls();
    sysctl->set_name(name);
    sysctl->set_value(value);
  };
  add_sysctl("msgmax", "8192");
  add_sysctl("msgmnb", "20000");
  add_sysctl("sem", "2\t32000\t500\t32000");
  add_sysctl("msg_next_id", "7");
  return set;
}

std::string problems_text(const ImageSet& set) {
  std::vector<std::string> problems;
  validate_sysv(set, &problems);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  return all;
}

TEST(SysvSemMsgValidation, AValidImageHasNoProblem) { EXPECT_EQ(problems_text(valid_sem_msg_image()), ""); }

TEST(SysvSemMsgValidation, RefusesHostileSemaphoreSets) {
  auto check = [](auto change, const char* mentions) {
    ImageSet set = valid_sem_msg_image();
    change(set);
    std::string all = problems_text(set);
    EXPECT_NE(all.find(mentions), std::string::npos) << "expected '" << mentions << "' in:\n" << all;
  };
  check([](ImageSet& s) { s.namespaces.set_own_ipc(false); }, "semaphore sets or message queues of a tree without");
  check([](ImageSet& s) { s.sysv.mutable_sem_sets(0)->set_id(-5); }, "semaphore set -5: negative id");
  check([](ImageSet& s) { *s.sysv.add_sem_sets() = s.sysv.sem_sets(0); }, "a second one with this id");
  check([](ImageSet& s) {
    auto* twin = s.sysv.add_sem_sets();
    *twin = s.sysv.sem_sets(0);
    twin->set_id(3);
  }, "a second one with key");
  check([](ImageSet& s) { s.sysv.mutable_sem_sets(0)->set_mode(010644); }, "more than permission bits");
  check([](ImageSet& s) { s.sysv.mutable_sem_sets(0)->clear_values(); }, "no semaphores");
  check([](ImageSet& s) { s.sysv.mutable_sem_sets(0)->set_values(1, 40000); }, "semaphore 1 has value 40000, more than 32767");
  check([](ImageSet& s) {
    for (int i = 0; i < 40000; ++i) s.sysv.mutable_sem_sets(0)->add_values(0);
  }, "40003 semaphores, more than cryo restores");
  check([](ImageSet& s) {
    for (int i = 0; i < 40; ++i) {
      auto* set = s.sysv.add_sem_sets();
      set->set_id(100 + i);
      for (int k = 0; k < 30000; ++k) set->add_values(1);
    }
  }, "1200003 semaphores, more than cryo restores");
}

TEST(SysvSemMsgValidation, RefusesHostileMessageQueues) {
  auto check = [](auto change, const char* mentions) {
    ImageSet set = valid_sem_msg_image();
    change(set);
    std::string all = problems_text(set);
    EXPECT_NE(all.find(mentions), std::string::npos) << "expected '" << mentions << "' in:\n" << all;
  };
  check([](ImageSet& s) { s.sysv.mutable_msg_queues(0)->set_id(-1); }, "message queue -1: negative id");
  check([](ImageSet& s) {
    auto* twin = s.sysv.add_msg_queues();
    *twin = s.sysv.msg_queues(0);
    twin->set_id(1);
  }, "a second one with key");
  check([](ImageSet& s) { s.sysv.mutable_msg_queues(0)->set_mode(01000); }, "more than permission bits");
  check([](ImageSet& s) { s.sysv.mutable_msg_queues(0)->mutable_messages(0)->set_type(0); }, "message 0 has type 0 (not > 0)");
  check([](ImageSet& s) { s.sysv.mutable_msg_queues(0)->mutable_messages(1)->set_type(-7); }, "message 1 has type -7");
  check([](ImageSet& s) { s.sysv.mutable_msg_queues(0)->set_qbytes(1ull << 40); }, "msg_qbytes 1099511627776 is more than");
  check([](ImageSet& s) {
    auto* seg = s.sysv.add_segments();
    seg->set_id(1);
    seg->set_mode(0600);
    seg->set_size(200u << 20);
    seg->set_contents(std::string(200u << 20, 's'));  // With 60 MiB of messages: more than one record holds.
    auto* m = s.sysv.mutable_msg_queues(0)->add_messages();
    m->set_type(1);
    m->set_text(std::string(60u << 20, 'x'));
  }, "segments and messages hold");
  check([](ImageSet& s) {
    for (int i = 0; i < 32769; ++i) s.sysv.add_msg_queues()->set_id(100000 + i);
  }, "32770 message queues, more than the kernel allows");
  check([](ImageSet& s) { s.sysv.mutable_sysctls(2)->set_value("2 32000 500"); }, "has 3 numbers");
  check([](ImageSet& s) { s.sysv.mutable_sysctls(0)->set_value("8192 1"); }, "has 2 numbers");
}

TEST(SysvLimits, RaisesOnlyWhatTheObjectsNeed) {
  ImageSet set = valid_sem_msg_image();
  auto limits = raised_ipc_limits(set.sysv);
  ASSERT_EQ(limits.size(), 3u);  // Not msg_next_id.
  EXPECT_EQ(limits[0].name(), "msgmax");
  EXPECT_EQ(limits[0].value(), "8192");  // "hello" fits.
  EXPECT_EQ(limits[1].name(), "msgmnb");
  EXPECT_EQ(limits[1].value(), "25000");  // The queue's msg_qbytes, set with IPC_SET.
  EXPECT_EQ(limits[2].name(), "sem");
  EXPECT_EQ(limits[2].value(), "3\t32000\t500\t32000");  // semmsl for the 3 semaphores.

  auto* big = set.sysv.mutable_msg_queues(0)->add_messages();
  big->set_type(2);
  big->set_text(std::string(30000, 'b'));  // Longer than msgmax, and than msg_qbytes with the rest.
  set.sysv.mutable_sysctls(2)->set_value("1 2 500 0");
  limits = raised_ipc_limits(set.sysv);
  ASSERT_EQ(limits.size(), 3u);
  EXPECT_EQ(limits[0].value(), "30000");
  EXPECT_EQ(limits[1].value(), "30005");
  EXPECT_EQ(limits[2].value(), "3\t3\t500\t1");  // semmsl, semmns and semmni; semopm is not a creation limit.
}

}  // namespace
}  // namespace cryo::restore
