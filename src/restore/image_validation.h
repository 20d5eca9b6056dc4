// Checks every value of an image before anything is created from it: a corrupt or hostile image must
// be refused with its problems listed, never half restored. Pure: no system state is consulted
// (host_check.h compares the image with this machine).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "image/image_set.h"
#include "image/tree_plan.h"
#include "image/value_checks.h"

namespace cryo::restore {

// Bounds on counts, far above anything real, so a corrupt image cannot make restore allocate or loop
// without limit.
constexpr int kMaxVmas = 1 << 20;
constexpr int kMaxPageRuns = 1 << 24;
constexpr int kMaxFdNumber = 1 << 20;  // NR_OPEN

// Appends one line per problem of the whole image (inventory, namespaces, tree, every process) to
// `problems` and returns the creation plan of the tree (meaningful only when nothing was appended).
TreePlan validate_image(const ImageSet& set, std::vector<std::string>* problems);

// The parts, for tests and for validate_image. `where` prefixes each problem ("pid 42").
void validate_core(const ProcessImage& process, uint64_t xsave_features, std::vector<std::string>* problems);
void validate_memory(const ProcessImage& process, std::vector<std::string>* problems);
// The pagemap's compression table, when it has one (page_chunk_validation.cc); validate_memory calls it.
void validate_page_chunks(const ProcessImage& process, std::vector<std::string>* problems);
void validate_files(const ProcessImage& process, const image::Pipes& pipes, std::vector<std::string>* problems);
// objects.img and every mapping and fd that names one of its objects.
void validate_objects(const ImageSet& set, std::vector<std::string>* problems);
// Page runs of an object (or SysV segment) of `size` bytes filled from a pages file of `pages_size`
// bytes: not empty, page aligned, sorted, not overlapping, inside the size and the file
// (object_validation.cc). Each problem goes to `problem`.
void validate_page_runs(const google::protobuf::RepeatedPtrField<image::ObjectRun>& runs, uint64_t size, uint64_t pages_size,
                        const std::function<void(const std::string&)>& problem);
// sysv.img: segments, IPC sysctls, and the mappings that name segments (sysv_validation.cc).
void validate_sysv(const ImageSet& set, std::vector<std::string>* problems);
// sysv.img's POSIX message queues and fs.mqueue sysctls, and the mqd fds (posix_mqueue_validation.cc).
void validate_posix_mqueues(const ImageSet& set, std::vector<std::string>* problems);

// The kind-specific state of one fd of a kind whose validation is not under state/files/ yet (unix
// and netlink sockets, TCP listeners).
void validate_fd_state(const image::Fd& fd, std::vector<std::string>* problems);

// The file status flags, O_ASYNC signal and owner of one fd (fd_state_validation.cc): known bits,
// a signal, an owner type and a PID.
void validate_fd_status(const image::Fd& fd, const std::string& name, std::vector<std::string>* problems);
// Every O_ASYNC owner is a thread, process or process group of the tree.
void validate_fd_owners(const ImageSet& set, std::vector<std::string>* problems);

// The file locks of one fd (fd_state_validation.cc): kinds, ranges, and what the fd is.
void validate_file_locks(const image::Fd& fd, const std::string& name, std::vector<std::string>* problems);

// Every unix socket of the image has its peer in the image, pointing back, and all holders of one
// socket agree on its state.
void validate_socket_pairs(const ImageSet& set, std::vector<std::string>* problems);
// Datagram sockets among them (unix_datagram_validation.cc): peers, senders of queued datagrams,
// buffer sizes and names restore/unix_datagrams.h can make again. `sockets` by socket_id.
void validate_unix_datagrams(const std::map<uint64_t, const image::UnixSocketState*>& sockets, std::vector<std::string>* problems);


// contents.img, included.img and the inventory's vdso symbols and XSAVE layout (host_file_validation.cc).
void validate_host_files(const ImageSet& set, std::vector<std::string>* problems);
// fingerprint-<pid>.img (fingerprint_validation.cc): its PID is the process's, and its counts and
// sizes are bounded. Verification only compares its strings, so nothing else needs judging.
constexpr int kMaxFingerprintFields = 1 << 20;
constexpr size_t kMaxFingerprintValue = 1 << 20;
void validate_fingerprint(const ProcessImage& process, std::vector<std::string>* problems);
// Every live process has a fingerprint, or none has (an image from before verification).
void validate_fingerprint_presence(const ImageSet& set, std::vector<std::string>* problems);

// The value checks every kind's validation shares (image/value_checks.h).
using image::is_clean_absolute_path;
using image::is_user_address;

}  // namespace cryo::restore
