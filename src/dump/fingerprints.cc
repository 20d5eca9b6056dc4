#include "dump/fingerprints.h"

#include "image/framed_file.h"
#include "image/image_kinds.h"
#include "verify/fingerprint_reader.h"

namespace cryo::dump {

Result<> write_fingerprints(const DirFd& dir, const std::vector<FrozenProcess>& processes) {
  std::vector<pid_t> live, zombies;
  for (const auto& process : processes) (process.zombie ? zombies : live).push_back(process.pid);
  ASSIGN_OR_RETURN(auto prints, verify::read_fingerprints(live, zombies));
  for (const auto& print : prints) RETURN_IF_ERROR(image::write_image(dir, image::Kind::Fingerprint, print.pid(), print));
  return {};
}

}  // namespace cryo::dump
