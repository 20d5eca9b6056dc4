// pipes.img: every pipe the tree holds an end of, with the bytes buffered in it, copied without
// consuming them.
#pragma once

#include <vector>

#include "base/error.h"
#include "dump/process_files.h"
#include "pipes.pb.h"

namespace cryo::dump {

// One entry per pipe, sorted by pipe id. The tree must be frozen: the copy is only exact while no
// one reads or writes.
Result<image::Pipes> collect_pipes(const std::vector<PipeEnd>& ends);

}  // namespace cryo::dump
