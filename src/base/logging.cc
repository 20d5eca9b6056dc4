#include "base/logging.h"

#include <fcntl.h>
#include <spdlog/sinks/base_sink.h>

#include <cstdio>
#include <mutex>

#include "base/file_util.h"
#include "base/progress_line.h"

namespace cryo::logging {
namespace {

// Writes to a file cryo opened itself (relative to the image directory's fd, never by a path that a
// symlink could redirect): spdlog's own file sinks open by name.
class FdSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit FdSink(UniqueFd fd) : fd_(std::move(fd)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    (void)write_all(fd_.get(), formatted.data(), formatted.size(), "log");
  }
  void flush_() override {}

 private:
  UniqueFd fd_;
};

// stderr, where a progress line may stand: it is erased before each line (and comes back with the
// next update), so that a log line never runs into it.
class ConsoleSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (ProgressLine* progress = ProgressLine::current()) progress->erase();
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::fwrite(formatted.data(), 1, formatted.size(), stderr);
    std::fflush(stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

struct Sinks {
  std::mutex mutex;
  std::shared_ptr<ConsoleSink> console = std::make_shared<ConsoleSink>();
  std::shared_ptr<FdSink> file;
};

Sinks& sinks() {
  static Sinks* instance = [] {
    auto* s = new Sinks;
    s->console->set_level(spdlog::level::warn);
    s->console->set_pattern("cryo: %l: [%n] %v");
    return s;
  }();
  return *instance;
}

void attach_sinks(spdlog::logger& logger) {
  auto& s = sinks();
  logger.sinks().clear();
  logger.sinks().push_back(s.console);
  if (s.file) logger.sinks().push_back(s.file);
  logger.set_level(spdlog::level::debug);
  logger.flush_on(spdlog::level::debug);
}

}  // namespace

std::shared_ptr<spdlog::logger> get(const std::string& module) {
  std::lock_guard lock(sinks().mutex);
  if (auto existing = spdlog::get(module)) return existing;
  auto logger = std::make_shared<spdlog::logger>(module);
  attach_sinks(*logger);
  spdlog::register_logger(logger);
  return logger;
}

void set_console_level(spdlog::level::level_enum level) { sinks().console->set_level(level); }

void open_file(UniqueFd fd) {
  std::lock_guard lock(sinks().mutex);
  sinks().file = std::make_shared<FdSink>(std::move(fd));
  sinks().file->set_level(spdlog::level::debug);
  sinks().file->set_pattern("%H:%M:%S.%f %l [%n] %v");
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { attach_sinks(*l); });
}

void close_file() {
  std::lock_guard lock(sinks().mutex);
  if (!sinks().file) return;
  sinks().file->flush();
  sinks().file.reset();
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { attach_sinks(*l); });
}

}  // namespace cryo::logging
