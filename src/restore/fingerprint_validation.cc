#include "restore/image_validation.h"

#include <algorithm>

namespace cryo::restore {

void validate_fingerprint(const ProcessImage& process, std::vector<std::string>* problems) {
  if (!process.fingerprint) return;
  const auto& print = *process.fingerprint;
  std::string where = "pid " + std::to_string(process.pid()) + ": fingerprint";
  if (print.pid() != process.pid()) problems->push_back(where + " is of pid " + std::to_string(print.pid()));
  if (print.fields_size() > kMaxFingerprintFields) {
    problems->push_back(where + " has " + std::to_string(print.fields_size()) + " fields, more than " +
                        std::to_string(kMaxFingerprintFields));
    return;
  }
  for (const auto& field : print.fields()) {
    size_t longest = std::max({field.subject().size(), field.file().size(), field.name().size(), field.value().size()});
    if (longest > kMaxFingerprintValue || field.file().empty() || field.name().empty()) {
      problems->push_back(where + ": a field (" + field.file().substr(0, 32) + " " + field.name().substr(0, 32) +
                          ") is empty or longer than " + std::to_string(kMaxFingerprintValue) + " bytes");
      return;
    }
  }
}

void validate_fingerprint_presence(const ImageSet& set, std::vector<std::string>* problems) {
  int live = 0, printed = 0;
  for (const auto& process : set.processes) {
    if (process.zombie()) continue;
    ++live;
    if (process.fingerprint) ++printed;
  }
  if (printed != 0 && printed != live)
    problems->push_back("only " + std::to_string(printed) + " of " + std::to_string(live) +
                        " processes have a fingerprint; the image is incomplete");
}

}  // namespace cryo::restore
