#include "base/logging.h"

#include <fcntl.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <sys/stat.h>

#include <mutex>

namespace cryo::logging {
namespace {

struct Sinks {
  std::mutex mutex;
  std::shared_ptr<spdlog::sinks::stderr_sink_mt> console = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  std::shared_ptr<spdlog::sinks::basic_file_sink_mt> file;
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

Result<> open_file(const std::string& path) {
  std::lock_guard lock(sinks().mutex);
  // The log lives beside private images: create it 0600 before spdlog opens it.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail_errno("open(" + path + ")");
  ::close(fd);
  try {
    sinks().file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
  } catch (const spdlog::spdlog_ex& e) {
    return fail("open log " + path + ": " + e.what());
  }
  sinks().file->set_level(spdlog::level::debug);
  sinks().file->set_pattern("%H:%M:%S.%f %l [%n] %v");
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { attach_sinks(*l); });
  return {};
}

void close_file() {
  std::lock_guard lock(sinks().mutex);
  if (!sinks().file) return;
  sinks().file->flush();
  sinks().file.reset();
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { attach_sinks(*l); });
}

}  // namespace cryo::logging
