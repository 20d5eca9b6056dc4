#include "base/stage_timer.h"

#include <time.h>

#include "base/progress_line.h"

namespace cryo {

double monotonic_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

StageTimer::StageTimer(ProgressLine* progress) : progress_(progress), started_ms_(monotonic_ms()) {}

void StageTimer::enter(std::string_view stage) {
  stop();
  running_since_ms_ = monotonic_ms();
  for (size_t i = 0; i < stages_.size(); ++i) {
    if (stages_[i].first == stage) running_ = static_cast<int>(i);
  }
  if (running_ < 0) {
    stages_.emplace_back(std::string(stage), 0.0);
    running_ = static_cast<int>(stages_.size() - 1);
  }
  if (progress_) progress_->set_stage(stage);
}

void StageTimer::stop() {
  if (running_ < 0) return;
  stages_[static_cast<size_t>(running_)].second += monotonic_ms() - running_since_ms_;
  running_ = -1;
}

std::vector<std::pair<std::string, double>> StageTimer::stages() const {
  auto out = stages_;
  if (running_ >= 0) out[static_cast<size_t>(running_)].second += monotonic_ms() - running_since_ms_;
  return out;
}

}  // namespace cryo
