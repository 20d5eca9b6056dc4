#include "image/unix_socket_name.h"

namespace cryo::image {

std::string shown_unix_name(const std::string& name, bool abstract) {
  if (!abstract) return name;
  std::string shown = "@" + name;
  for (size_t i = 1; i < shown.size(); ++i)
    if (shown[i] == '\0') shown[i] = '@';
  return shown;
}

}  // namespace cryo::image
