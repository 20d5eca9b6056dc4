// Validation of a fanotify fd's state (state/files/fanotify.cc): what a dump writes passes,
// and each damage is named.
#include <fcntl.h>
#include <sys/fanotify.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "state/files/fanotify.h"

namespace cryo::state {
namespace {

image::FanotifyState sound() {
  image::FanotifyState state;
  state.set_flags(FAN_CLASS_NOTIF | FAN_CLOEXEC);
  state.set_event_flags(O_RDONLY | 0100000);
  for (uint64_t ino : {12u, 13u}) {
    image::FanotifyMark* mark = state.add_marks();
    mark->set_mask(FAN_MODIFY | FAN_CLOSE_WRITE);
    mark->set_path("/tmp/d/f" + std::to_string(ino));
    mark->mutable_identity()->set_dev(0xfe00);
    mark->mutable_identity()->set_ino(ino);
    mark->set_handle(std::string(8, '\x01'));
    mark->set_handle_type(1);
  }
  return state;
}

std::vector<std::string> problems_of(const image::FanotifyState& state) {
  image::Fd fd;
  fd.set_kind(image::FD_FANOTIFY);
  *fd.mutable_fanotify() = state;
  std::vector<std::string> problems;
  validate_fanotify(fd, {}, "fd 10", &problems);
  return problems;
}

void expect_problem(const image::FanotifyState& state, const std::string& text) {
  std::string all;
  bool found = false;
  for (const auto& p : problems_of(state)) {
    found = found || p.find(text) != std::string::npos;
    all += p + "\n";
  }
  EXPECT_TRUE(found) << "expected a problem mentioning '" << text << "', got:\n" << all;
}

TEST(FanotifyValidation, WhatADumpWritesPasses) {
  auto problems = problems_of(sound());
  EXPECT_TRUE(problems.empty()) << problems.front();
}

TEST(FanotifyValidation, EachDamageIsNamed) {
  auto state = sound();
  state.set_flags(FAN_CLASS_CONTENT);
  expect_problem(state, "fd 10: fanotify flags 4 are unknown or of a permission class");
  state = sound();
  state.set_event_flags(O_ACCMODE);
  expect_problem(state, "invalid access mode");
  state = sound();
  state.set_event_flags(O_CREAT);
  expect_problem(state, "fanotify event flags 64 are unknown");
  state = sound();
  state.mutable_marks(0)->set_mflags(FAN_MARK_MOUNT);
  expect_problem(state, "fanotify mark on '/tmp/d/f12': unknown mark flags");
  state = sound();
  state.mutable_marks(0)->set_mask(0);
  expect_problem(state, "mask 0 is empty or unknown");
  state = sound();
  state.mutable_marks(0)->set_mask(FAN_OPEN_PERM);
  expect_problem(state, "is empty or unknown");
  state = sound();
  state.mutable_marks(1)->set_path("/tmp/../etc/shadow");
  expect_problem(state, "the path is not a clean absolute path");
  state = sound();
  state.mutable_marks(1)->clear_identity();
  expect_problem(state, "no identity of the marked file");
  state = sound();
  state.mutable_marks(1)->set_handle(std::string(129, 'x'));
  expect_problem(state, "no file handle, or one longer");
  state = sound();
  state.mutable_marks(1)->mutable_identity()->set_ino(12);
  expect_problem(state, "a second mark on the same file");
}

}  // namespace
}  // namespace cryo::state
