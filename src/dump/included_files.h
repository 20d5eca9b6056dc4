// `cryo dump --include PATH...`: the contents of files another host may lack, carried in the image
// (included.img). A PATH that is a file is stored; a directory stands for the files the tree uses
// under it (its executables, mapped files and open regular files).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "included.pb.h"

namespace cryo::dump {

constexpr uint64_t kMaxIncludedFile = 64ull << 20;
constexpr uint64_t kMaxIncludedTotal = 192ull << 20;

// Before the freeze: every PATH exists and is a regular file or a directory (never a symlink).
Result<> check_include_paths(const std::vector<std::string>& paths);

// After the collection: reads the files, `used` being every regular file path the tree uses.
Result<image::IncludedFiles> collect_included(const std::vector<std::string>& paths, const std::set<std::string>& used);

}  // namespace cryo::dump
