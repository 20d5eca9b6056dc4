// The one progress line of a long dump or restore on a terminal: "cryo dump: pages 212.0 of 512.0 MiB,
// 431 MiB/s". It is drawn on stderr only when stderr is a terminal, only once the command has run
// for a second (most dumps end before that, and a line that flashes up is noise), redrawn in place
// at most ten times a second, erased before any log line is printed (logging calls erase() through
// its console hook) and erased at the end. Nothing of it ever reaches a file or a pipe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cryo {

// "212.0 MiB", "3.4 GiB", "512 B": the sizes the line shows.
std::string format_byte_size(uint64_t bytes);

// The text of the line, without the terminal controls: "cryo dump: pages 212.0 of 512.0 MiB, 431 MiB/s".
// `total` 0 means unknown (only the bytes done are shown); the rate is left out before any byte is
// done or when `seconds` is not positive. Never longer than `width` columns (cut at the end).
std::string format_progress_line(std::string_view command, std::string_view stage, uint64_t done, uint64_t total,
                                 double seconds, size_t width = 79);

class ProgressLine {
 public:
  // Draws on `fd` when it is a terminal and `enabled` (false with --quiet). The delay before the
  // first draw is a second; the hidden test switch CRYO_PROGRESS_AFTER_MS=<ms> changes it.
  ProgressLine(std::string command, int fd, bool enabled);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool active() const { return enabled_; }

  // The stage now running; the bytes count on across stages.
  void set_stage(std::string_view stage);
  // What the whole command will move, as far as it is known (0: unknown).
  void set_total(uint64_t bytes);
  void add_done(uint64_t bytes);
  // Removes the line from the terminal (it comes back at the next update).
  void erase();
  // Removes the line for good: nothing is drawn after this.
  void finish();

  // The line being shown, if any (for the logging hook).
  static ProgressLine* current();

 private:
  void update();
  static double now_seconds();

  std::string command_;
  int fd_;
  bool enabled_;
  double after_s_ = 1.0;
  double started_s_ = 0;
  double last_draw_s_ = -1;
  bool shown_ = false;
  std::string stage_;
  uint64_t total_ = 0;
  uint64_t done_ = 0;
};

}  // namespace cryo
