#include "base/progress_line.h"

#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "base/file_util.h"

namespace cryo {
namespace {

// Redraws at most this often: enough to see it move, little enough not to cost anything.
constexpr double kRedrawInterval = 0.1;

// "\r" goes back to the first column, "ESC [ K" clears to the end of the line.
constexpr std::string_view kClearLine = "\r\033[K";

std::atomic<ProgressLine*> g_current{nullptr};
// Logging may print from another thread (the file hashing of a dump) while the main thread redraws.
std::mutex g_draw_mutex;

size_t terminal_width(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1) return ws.ws_col - 1;  // No wrap at the last column.
  return 79;
}

}  // namespace

std::string format_byte_size(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char out[32];
  std::snprintf(out, sizeof out, value < 100 ? "%.1f %s" : "%.0f %s", value, kUnits[unit]);
  return out;
}

std::string format_progress_line(std::string_view command, std::string_view stage, uint64_t done, uint64_t total,
                                 double seconds, size_t width) {
  std::string line = "cryo " + std::string(command) + ": " + std::string(stage);
  if (total > 0) {
    line += " " + format_byte_size(std::min(done, total)) + " of " + format_byte_size(total);
  } else if (done > 0) {
    line += " " + format_byte_size(done);
  }
  if (done > 0 && seconds > 0) line += ", " + format_byte_size(static_cast<uint64_t>(static_cast<double>(done) / seconds)) + "/s";
  if (line.size() > width) line.resize(width);
  return line;
}

ProgressLine::ProgressLine(std::string command, int fd, bool enabled)
    : command_(std::move(command)), fd_(fd), enabled_(enabled && ::isatty(fd) == 1) {
  started_s_ = now_seconds();
  if (const char* after = std::getenv("CRYO_PROGRESS_AFTER_MS")) {
    char* end = nullptr;
    long ms = std::strtol(after, &end, 10);
    if (end != after && *end == '\0' && ms >= 0) after_s_ = static_cast<double>(ms) / 1000;
  }
  if (enabled_) g_current.store(this);
}

ProgressLine::~ProgressLine() { finish(); }

ProgressLine* ProgressLine::current() { return g_current.load(); }

double ProgressLine::now_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void ProgressLine::set_stage(std::string_view stage) {
  if (!enabled_) return;
  stage_ = stage;
  update();
}

void ProgressLine::set_total(uint64_t bytes) {
  if (!enabled_) return;
  total_ = bytes;
}

void ProgressLine::add_done(uint64_t bytes) {
  if (!enabled_) return;
  done_ += bytes;
  update();
}

void ProgressLine::update() {
  double now = now_seconds();
  if (now - started_s_ < after_s_) return;
  // Never more often than kRedrawInterval, whatever changed: a dump of many small processes changes
  // stage hundreds of times a second. A stage skipped here shows with the next update.
  if (last_draw_s_ >= 0 && now - last_draw_s_ < kRedrawInterval) return;
  std::lock_guard lock(g_draw_mutex);
  last_draw_s_ = now;
  std::string out(kClearLine);
  out += format_progress_line(command_, stage_, done_, total_, now - started_s_, terminal_width(fd_));
  (void)write_all(fd_, out.data(), out.size(), "progress line");
  shown_ = true;
}

void ProgressLine::erase() {
  if (!enabled_) return;
  std::lock_guard lock(g_draw_mutex);
  if (!shown_) return;
  (void)write_all(fd_, kClearLine.data(), kClearLine.size(), "progress line");
  shown_ = false;
}

void ProgressLine::finish() {
  if (!enabled_) return;
  erase();
  enabled_ = false;
  ProgressLine* self = this;
  g_current.compare_exchange_strong(self, nullptr);
}

}  // namespace cryo
