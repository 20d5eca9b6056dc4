#include "image/framed_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "base/file_util.h"
#include "base/unique_fd.h"

namespace cryo::image {
namespace {

void put_u32(std::string& out, uint32_t v) {
  char b[4] = {char(v), char(v >> 8), char(v >> 16), char(v >> 24)};
  out.append(b, 4);
}

uint32_t get_u32(std::string_view bytes, size_t at) {
  auto b = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

}  // namespace

Result<std::string> encode_records(Kind kind, std::span<const google::protobuf::Message* const> messages) {
  const auto& info = kind_info(kind);
  if (!info.prototype) return fail(std::string(info.name) + " images are raw, not framed");
  std::string out;
  put_u32(out, info.magic);
  put_u32(out, kFormatVersion);
  for (const auto* message : messages) {
    std::string body;
    if (!message->SerializeToString(&body)) return fail(std::string(info.name) + ": cannot serialize record");
    if (body.size() > kMaxRecordSize) return fail(std::string(info.name) + ": record too large to store");
    put_u32(out, static_cast<uint32_t>(body.size()));
    out += body;
  }
  return out;
}

Result<std::vector<std::unique_ptr<google::protobuf::Message>>> decode_records(Kind kind, std::string_view bytes,
                                                                                const std::string& what) {
  const auto& info = kind_info(kind);
  if (!info.prototype) return fail(what + ": raw image files hold no records");
  if (bytes.size() < 8) return fail(what + ": truncated header (" + std::to_string(bytes.size()) + " bytes)");
  if (uint32_t magic = get_u32(bytes, 0); magic != info.magic)
    return fail(what + ": wrong magic " + hex(magic) + " at offset 0, expected " + hex(info.magic) + " (" +
                std::string(info.name) + ")");
  if (uint32_t version = get_u32(bytes, 4); version != kFormatVersion)
    return fail(what + ": format version " + std::to_string(version) + " at offset 4, this cryo reads version " +
                std::to_string(kFormatVersion));
  std::vector<std::unique_ptr<google::protobuf::Message>> records;
  size_t at = 8;
  while (at < bytes.size()) {
    std::string where = what + ": record at offset " + std::to_string(at);
    if (bytes.size() - at < 4) return fail(where + ": truncated length");
    uint32_t size = get_u32(bytes, at);
    if (size > kMaxRecordSize) return fail(where + ": oversized record (" + std::to_string(size) + " bytes)");
    if (bytes.size() - at - 4 < size)
      return fail(where + ": truncated, " + std::to_string(size) + " bytes announced, " +
                  std::to_string(bytes.size() - at - 4) + " present");
    auto message = new_message(kind);
    if (!message->ParseFromArray(bytes.data() + at + 4, static_cast<int>(size)))
      return fail(where + ": not a valid " + std::string(info.name) + " record");
    records.push_back(std::move(message));
    at += 4 + size;
  }
  return records;
}

Result<> write_image(const DirFd& dir, Kind kind, uint32_t pid, const google::protobuf::Message& message) {
  const google::protobuf::Message* one[] = {&message};
  ASSIGN_OR_RETURN(std::string bytes, encode_records(kind, one));
  std::string name = file_name(kind, pid);
  ASSIGN_OR_RETURN(UniqueFd fd, dir.create_file(name));
  return write_all(fd.get(), bytes.data(), bytes.size(), dir.describe(name));
}

Result<> read_image(const DirFd& dir, Kind kind, uint32_t pid, google::protobuf::Message* out, uint64_t max_size) {
  std::string name = file_name(kind, pid);
  ASSIGN_OR_RETURN(std::string bytes, dir.read_regular(name, std::min(max_size, kMaxFramedFileSize)));
  ASSIGN_OR_RETURN(auto records, decode_records(kind, bytes, name));
  if (records.size() != 1)
    return fail(name + ": holds " + std::to_string(records.size()) + " records, expected exactly one");
  out->CopyFrom(*records[0]);
  return {};
}

Result<> write_image(const std::string& dir, Kind kind, uint32_t pid, const google::protobuf::Message& message) {
  ASSIGN_OR_RETURN(DirFd opened, DirFd::open(dir));
  return write_image(opened, kind, pid, message);
}

Result<> read_image(const std::string& dir, Kind kind, uint32_t pid, google::protobuf::Message* out) {
  ASSIGN_OR_RETURN(DirFd opened, DirFd::open(dir));
  return read_image(opened, kind, pid, out);
}

}  // namespace cryo::image
