#include "dump/fingerprints.h"

#include "image/framed_file.h"
#include "image/image_kinds.h"
#include "verify/fingerprint_reader.h"

namespace cryo::dump {

Result<std::map<pid_t, std::string>> write_fingerprints(const DirFd& dir, const std::vector<FrozenProcess>& processes,
                                                        const std::function<void(pid_t, image::ProcessFingerprint&)>& adjust) {
  std::vector<pid_t> live, zombies;
  for (const auto& process : processes) (process.zombie ? zombies : live).push_back(process.pid);
  std::vector<std::string> smaps;
  ASSIGN_OR_RETURN(auto prints, verify::read_fingerprints(live, zombies, &smaps));
  // One print per live process, in their order.
  if (adjust)
    for (size_t i = 0; i < prints.size() && i < live.size(); ++i) adjust(live[i], prints[i]);
  for (const auto& print : prints) RETURN_IF_ERROR(image::write_image(dir, image::Kind::Fingerprint, print.pid(), print));
  std::map<pid_t, std::string> smaps_of;
  for (size_t i = 0; i < live.size() && i < smaps.size(); ++i) smaps_of[live[i]] = std::move(smaps[i]);
  return smaps_of;
}

}  // namespace cryo::dump
