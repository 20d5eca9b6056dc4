// How cryo names an AF_UNIX socket address in its messages, on the dump and the restore side alike.
#pragma once

#include <string>

namespace cryo::image {

// "/run/app.sock", or "@name" for an abstract name (its NULs shown as '@' too, as ss(8) does).
std::string shown_unix_name(const std::string& name, bool abstract);

// The same for any image record with name() and abstract() (UnixSocketState, its senders).
template <typename Named>
std::string shown_unix_name(const Named& s) {
  return shown_unix_name(s.name(), s.abstract());
}

}  // namespace cryo::image
