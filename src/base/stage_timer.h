// Wall time of each stage of a dump or restore, measured with CLOCK_MONOTONIC around the real code,
// for their stats (image/run_stats.h). Stages are disjoint: switching to a stage ends the one that
// ran, and a stage entered again (the pages of each process, between the rest of its collection)
// adds to its earlier time, so the stages never add up to more than the whole.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cryo {

class ProgressLine;

// CLOCK_MONOTONIC in milliseconds.
double monotonic_ms();

class StageTimer {
 public:
  // Starts the whole command's clock; `progress`, when given, is told each stage as it begins.
  explicit StageTimer(ProgressLine* progress = nullptr);

  // Ends the running stage (if any) and starts `stage`.
  void enter(std::string_view stage);
  // Ends the running stage.
  void stop();

  // Milliseconds since the timer was made.
  double elapsed_ms() const { return monotonic_ms() - started_ms_; }
  // Each stage with its time, in the order they were first entered (the running one counted so far).
  std::vector<std::pair<std::string, double>> stages() const;
  ProgressLine* progress() const { return progress_; }

 private:
  ProgressLine* progress_;
  double started_ms_;
  std::vector<std::pair<std::string, double>> stages_;
  int running_ = -1;  // Index into stages_.
  double running_since_ms_ = 0;
};

}  // namespace cryo
