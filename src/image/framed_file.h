// The framing of every protobuf image file: a u32 magic and a u32 format version (little-endian),
// then records, each a u32 length followed by that many bytes of one serialized message.
#pragma once

#include <google/protobuf/message.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/dir_fd.h"
#include "base/error.h"
#include "image/image_kinds.h"

namespace cryo::image {

// Records larger than this are refused as corrupt: no image kind comes near it.
constexpr uint32_t kMaxRecordSize = 256u << 20;
// A framed file holds one record: the header, its length and the record.
constexpr uint64_t kMaxFramedFileSize = 8 + 4 + uint64_t(kMaxRecordSize);

// Serializes messages into the framed format of a kind.
Result<std::string> encode_records(Kind kind, std::span<const google::protobuf::Message* const> messages);

// Decodes framed bytes. `what` names the file in errors ("core-7.img: record at offset 8: ...").
Result<std::vector<std::unique_ptr<google::protobuf::Message>>> decode_records(Kind kind, std::string_view bytes,
                                                                                const std::string& what);

// Writes one message as image file `dir/file_name(kind, pid)`, mode 0600. Refuses to overwrite.
Result<> write_image(const DirFd& dir, Kind kind, uint32_t pid, const google::protobuf::Message& message);

// Reads an image file that holds exactly one record of the kind's type into *out. The file must be
// a regular file of at most max_size bytes (the inventory's size where it is known).
Result<> read_image(const DirFd& dir, Kind kind, uint32_t pid, google::protobuf::Message* out,
                    uint64_t max_size = kMaxFramedFileSize);

// The same, opening `dir` first (tests and tools; cryo itself keeps its image directory open).
Result<> write_image(const std::string& dir, Kind kind, uint32_t pid, const google::protobuf::Message& message);
Result<> read_image(const std::string& dir, Kind kind, uint32_t pid, google::protobuf::Message* out);

}  // namespace cryo::image
