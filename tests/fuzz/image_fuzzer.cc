// libFuzzer target over the image reader, decoder and printer (see fuzz_entry.h for the input layout).
#include <google/protobuf/stubs/logging.h>

#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_entry.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf logs every string field with invalid UTF-8 it refuses; millions of those lines would only
  // slow the fuzzer down. Refusal is still reported through the parse result.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (auto broken = cryo::fuzz::run_image_input({data, size})) {
    std::fprintf(stderr, "image fuzzer: broken invariant: %s\n", broken->c_str());
    std::abort();
  }
  return 0;
}
