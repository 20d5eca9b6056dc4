// Writes the image fuzzer's seed corpus (inputs in the layout of fuzz_entry.h):
//   make_seeds OUT_DIR [IMAGE_DIR...]
// Always writes generated seeds: one valid file of every kind, file names, and a whole synthetic image
// as a directory input. Each IMAGE_DIR (a real image from `cryo dump`) is verified and split into one
// decode seed per file plus one directory seed of the whole image, with page data cut short so the
// corpus stays small.
#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdio>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/file_util.h"
#include "base/unique_fd.h"
#include "core.pb.h"
#include "file_contents.pb.h"
#include "files.pb.h"
#include "included.pb.h"
#include "fingerprint.pb.h"
#include "fuzz/fuzz_entry.h"
#include "image/framed_file.h"
#include "image/image_dir.h"
#include "image/image_kinds.h"
#include "image/page_compression.h"
#include "image/run_stats.h"
#include "inventory.pb.h"
#include "mm.pb.h"
#include "namespaces.pb.h"
#include "objects.pb.h"
#include "pagemap.pb.h"
#include "pipes.pb.h"
#include "pstree.pb.h"
#include "sysv.pb.h"

namespace cryo::fuzz {
namespace {

using image::Kind;
using Message = google::protobuf::Message;

// Directory inputs frame each file with a u16 length; page data beyond this is cut from seeds.
constexpr size_t kMaxSeedFile = 65535;
constexpr size_t kMaxSeedPages = 2 * 4096;

size_t kind_index(Kind kind) {
  auto kinds = image::all_kinds();
  for (size_t i = 0; i < kinds.size(); ++i)
    if (kinds[i].kind == kind) return i;
  std::abort();
}

void put_u16(std::string& out, size_t v) {
  out += char(v & 0xff);
  out += char((v >> 8) & 0xff);
}

Result<> write_seed(const std::string& out_dir, const std::string& name, const std::string& bytes) {
  std::string path = out_dir + "/" + name;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return fail_errno("open(" + path + ")");
  return write_all(fd.get(), bytes.data(), bytes.size(), path);
}

std::string framed(Kind kind, std::vector<const Message*> records) {
  auto bytes = image::encode_records(kind, records);
  if (!bytes) std::abort();
  return *bytes;
}

struct SeedFile {
  Kind kind;
  uint32_t pid;  // 1..256, or 0.
  std::string bytes;
};

// A directory input: mode 3 takes the bare inventory and fills in sums; mode 2 takes it framed, with
// the true sums already in it.
std::string dir_input(Mode mode, image::Inventory inventory, const std::vector<SeedFile>& files) {
  inventory.clear_files();
  for (const auto& file : files) {
    auto* entry = inventory.add_files();
    entry->set_name(image::file_name(file.kind, file.pid));
    entry->set_size(file.bytes.size());
    entry->set_xxh3(XXH3_64bits(file.bytes.data(), file.bytes.size()));
  }
  // Mode 2 must carry the inventory's own checksum, which the entry fills in only for mode 3.
  if (mode == Mode::Dir) image::seal_inventory(inventory);
  std::string inventory_bytes =
      mode == Mode::DirWithSums ? inventory.SerializeAsString() : framed(Kind::Inventory, {&inventory});
  std::string out(1, char(selector(mode, 0)));
  put_u16(out, inventory_bytes.size());
  out += inventory_bytes;
  for (const auto& file : files) {
    out += char(kind_index(file.kind));
    out += char(file.pid ? file.pid - 1 : 0);
    put_u16(out, file.bytes.size());
    out += file.bytes;
  }
  return out;
}

image::Inventory make_inventory() {
  image::Inventory inventory;
  inventory.set_format_version(image::kFormatVersion);
  inventory.set_cryo_version("0.1.0");
  inventory.set_kernel_release("6.18.0");
  inventory.set_arch("x86_64");
  for (const char* flag : {"fpu", "sse2", "avx", "avx2", "xsave"}) inventory.add_cpu_flags(flag);
  inventory.set_xsave_features(0x2e7);
  auto* vdso = inventory.add_vdso_layout();
  vdso->set_name("[vdso]");
  vdso->set_start(0x7ffd00104000);
  vdso->set_end(0x7ffd00106000);
  auto* vvar = inventory.add_vdso_layout();
  vvar->set_name("[vvar]");
  vvar->set_start(0x7ffd00100000);
  vvar->set_end(0x7ffd00104000);
  inventory.mutable_host_clocks()->set_monotonic_ns(5'000'000'000);
  inventory.mutable_host_clocks()->set_boottime_ns(6'000'000'000);
  inventory.mutable_host_clocks()->set_realtime_ns(1'700'000'000'000'000'000);
  inventory.set_root_pid(4242);
  inventory.set_process_count(2);
  inventory.set_boot_id("0f8e7c7a-5d1c-4b43-9a39-0c4d9b3f2a11");
  inventory.mutable_vdso()->set_size(0x2000);
  inventory.mutable_vdso()->set_xxh3(0x77);
  auto* sym = inventory.mutable_vdso()->add_symbols();
  sym->set_name("__vdso_clock_gettime");
  sym->set_offset(0xc10);
  inventory.set_xsave_size(2696);
  auto* avx = inventory.add_xsave_components();
  avx->set_index(2);
  avx->set_offset(576);
  avx->set_size(256);
  return inventory;
}

image::Namespaces make_namespaces() {
  image::Namespaces ns;
  ns.set_own_pid(true);
  ns.set_own_time(true);
  ns.set_own_mount(true);
  ns.set_own_ipc(true);  // sysv.img is only for a tree with its own.
  ns.mutable_time_offsets()->set_monotonic_sec(-4);
  ns.mutable_time_offsets()->set_boottime_sec(-5);
  ns.mutable_clocks_inside()->set_monotonic_ns(1'000'000'000);
  ns.mutable_host_clocks()->set_monotonic_ns(5'000'000'000);
  ns.set_hostname("cryo-test");
  return ns;
}

image::ProcessTree make_tree() {
  image::ProcessTree tree;
  auto* init = tree.add_processes();
  init->set_pid(1);
  init->set_host_pid(4242);
  init->set_pgid(1);
  init->set_sid(1);
  init->add_threads(1);
  auto* zombie = tree.add_processes();
  zombie->set_pid(3);
  zombie->set_host_pid(4245);
  zombie->set_ppid(1);
  zombie->set_pgid(1);
  zombie->set_sid(1);
  zombie->add_threads(3);
  zombie->set_zombie(true);
  zombie->set_exit_code(7 << 8);
  return tree;
}

image::ProcessCore make_core() {
  image::ProcessCore core;
  core.set_pid(1);
  core.set_comm("sleep");
  core.set_cmdline(std::string("sleep\0" "1000\0", 11));
  core.set_umask(022);
  auto* creds = core.mutable_creds();
  for (int i = 0; i < 4; ++i) {
    creds->add_uids(0);
    creds->add_gids(0);
  }
  creds->set_cap_permitted(0x1ffffffffff);
  creds->set_cap_effective(0x1ffffffffff);
  creds->set_cap_bounding(0x1ffffffffff);
  auto* nofile = core.add_rlimits();
  nofile->set_resource(7);
  nofile->set_cur(1024);
  nofile->set_max(1048576);
  auto* action = core.add_sigactions();
  action->set_signo(10);
  action->set_handler(0x401230);
  action->set_flags(0x04000000);
  action->set_restorer(0x7f0000001000);
  auto* mm = core.mutable_mm();
  mm->set_start_code(0x400000);
  mm->set_end_code(0x401000);
  mm->set_start_brk(0x600000);
  mm->set_brk(0x621000);
  mm->set_start_stack(0x7ffd00000000);
  mm->set_auxv(std::string(32, '\x11'));
  mm->set_exe("/usr/bin/sleep");
  mm->mutable_exe_identity()->set_ino(1234);
  mm->mutable_exe_identity()->set_mode(0100755);
  // One thread: restore refuses more for now, and the seed should be an image it accepts.
  for (uint32_t tid : {1u}) {
    auto* thread = core.add_threads();
    thread->set_tid(tid);
    thread->set_gpregs(std::string(216, '\x22'));
    std::string xstate(1088, '\x33');
    const char xstate_bv[8] = {0x03};  // x87 and SSE, within the inventory's XCR0.
    xstate.replace(512, 64, std::string(64, '\0')).replace(512, 8, xstate_bv, 8);
    thread->set_xstate(xstate);
    thread->set_blocked_mask(1u << 9);
    std::string siginfo(128, '\0');
    siginfo[0] = 10;  // si_signo SIGUSR1
    thread->add_pending(siginfo);
    thread->mutable_altstack()->set_flags(2);  // SS_DISABLE
    thread->mutable_rseq()->set_address(0x600020);  // In the heap, which is writable.
    thread->mutable_rseq()->set_length(32);
    thread->mutable_rseq()->set_signature(0x53053053);
    thread->set_comm("sleep");
  }
  auto* timer = core.add_itimers();
  timer->set_value_us(500000);
  core.set_exit_signal(17);
  core.set_dumpable(true);
  return core;
}

image::MemoryMap make_mm() {
  image::MemoryMap mm;
  auto add = [&mm](uint64_t start, uint64_t end, uint32_t prot, image::VmaKind kind, const char* path) {
    auto* vma = mm.add_vmas();
    vma->set_start(start);
    vma->set_end(end);
    vma->set_prot(prot);
    vma->set_flags(kind == image::VMA_FILE_SHARED || kind == image::VMA_ANON_SHARED ? 1 : 2);
    vma->set_kind(kind);
    vma->set_path(path);
    return vma;
  };
  add(0x400000, 0x401000, 5, image::VMA_FILE_PRIVATE, "/usr/bin/sleep")->mutable_file()->set_ino(1234);
  add(0x600000, 0x621000, 3, image::VMA_ANON_PRIVATE, "");
  auto* shared = add(0x7f0000000000, 0x7f0000001000, 3, image::VMA_ANON_SHARED, "/dev/zero (deleted)");
  shared->set_shmid(99);
  shared->set_object_id(1);
  add(0x7ffd00000000, 0x7ffd00021000, 3, image::VMA_ANON_PRIVATE, "[stack]")->set_flags(2 | 0x100);
  add(0x7ffd00100000, 0x7ffd00104000, 1, image::VMA_VVAR, "[vvar]");
  add(0x7ffd00104000, 0x7ffd00106000, 5, image::VMA_VDSO, "[vdso]");
  return mm;
}

image::Pagemap make_pagemap() {
  image::Pagemap pagemap;
  pagemap.set_pages_file_size(kMaxSeedPages);
  auto* heap = pagemap.add_runs();
  heap->set_vaddr(0x600000);
  heap->set_nr_pages(1);
  auto* stack = pagemap.add_runs();
  stack->set_vaddr(0x7ffd00020000);
  stack->set_nr_pages(1);
  stack->set_offset(4096);
  return pagemap;
}

// The same two pages compressed (dump --compress): one zstd chunk in zpages-1.img, which the
// pagemap's compression table lists.
Result<std::pair<image::Pagemap, std::string>> make_compressed_pages(const std::string& pages) {
  image::Pagemap pagemap = make_pagemap();
  ASSIGN_OR_RETURN(image::ChunkCompressor compressor, image::ChunkCompressor::make(image::kPageCompressionLevel));
  ASSIGN_OR_RETURN(std::span<const char> frame, compressor.compress(pages));
  std::string stored(frame.data(), frame.size());
  auto* table = pagemap.mutable_compression();
  table->set_codec(image::PAGE_CODEC_ZSTD);
  table->set_stored_size(stored.size());
  auto* chunk = table->add_chunks();
  chunk->set_offset(0);
  chunk->set_size(pages.size());
  chunk->set_stored_offset(0);
  chunk->set_stored_size(stored.size());
  return std::make_pair(pagemap, stored);
}

image::ProcessFiles make_files() {
  image::ProcessFiles files;
  for (int fd = 0; fd < 3; ++fd) {
    auto* entry = files.add_fds();
    entry->set_fd(fd);
    entry->set_kind(image::FD_CHARDEV);
    entry->set_flags(fd == 0 ? 0 : 1);
    entry->set_path("/dev/null");
    entry->set_rdev(0x103);
  }
  auto* pipe = files.add_fds();
  pipe->set_fd(3);
  pipe->set_kind(image::FD_PIPE);
  pipe->set_flags(1);
  pipe->set_cloexec(true);
  pipe->set_pipe_id(777);
  pipe->set_pipe_write_end(true);
  auto* log = files.add_fds();
  log->set_fd(4);
  log->set_kind(image::FD_REGULAR);
  log->set_flags(02001);
  log->set_pos(4096);
  log->set_path("/tmp/log.txt");
  log->mutable_identity()->set_ino(55);
  files.set_cwd("/tmp");
  files.set_root("/");
  return files;
}

image::Pipes make_pipes() {
  image::Pipes pipes;
  auto* pipe = pipes.add_pipes();
  pipe->set_pipe_id(777);
  pipe->set_data("hello, pipe\n");
  pipe->set_capacity(65536);
  pipe->set_has_writer_in_tree(true);
  return pipes;
}

// One page of shared anonymous memory, mapped by make_mm's VMA_ANON_SHARED mapping.
image::MemoryObjects make_objects() {
  image::MemoryObjects objects;
  objects.set_pages_file_size(4096);
  auto* shmem = objects.add_objects();
  shmem->set_id(1);
  shmem->set_kind(image::OBJECT_SHMEM);
  shmem->set_size(4096);
  shmem->set_mode(0777);
  auto* run = shmem->add_runs();
  run->set_offset(0);
  run->set_nr_pages(1);
  run->set_file_offset(0);
  return objects;
}

image::FileContents make_contents() {
  image::FileContents contents;
  contents.set_hash_limit(64 << 20);
  auto* f = contents.add_files();
  f->set_dev(8);
  f->set_ino(100);
  f->set_path("/bin/prog");
  f->set_size(20000);
  f->set_mtime_ns(1000);
  f->set_mode(0100755);
  f->set_hashed(true);
  f->set_xxh3(0x1234);
  f->set_build_id(std::string(20, '\x42'));
  return contents;
}

image::IncludedFiles make_included() {
  image::IncludedFiles included;
  auto* f = included.add_files();
  f->set_path("/data/input");
  f->set_mode(0644);
  f->set_mtime_ns(1000);
  f->set_data("carried bytes");
  return included;
}

image::ProcessFingerprint make_fingerprint() {
  image::ProcessFingerprint print;
  print.set_pid(1);
  const char* fields[][4] = {{"tid 1", "status", "Umask", "0022"},
                             {"tid 1", "status", "NSpid", "4242 1"},
                             {"map 7f0000000000-7f0000001000", "maps", "perms", "rw-p"},
                             {"fd 0", "fd", "link", "/dev/null"}};
  for (const auto& [subject, file, name, value] : fields) {
    auto* f = print.add_fields();
    f->set_subject(subject);
    f->set_file(file);
    f->set_name(name);
    f->set_value(value);
  }
  return print;
}

image::SysvIpc make_sysv() {
  image::SysvIpc ipc;
  auto* s = ipc.add_segments();
  s->set_id(3);
  s->set_key(0x5a5a);
  s->set_mode(0640);
  s->set_size(100);
  s->set_contents(std::string(100, 'S'));
  auto* sysctl = ipc.add_sysctls();
  sysctl->set_name("shmmni");
  sysctl->set_value("1000");
  return ipc;
}

Result<> write_generated(const std::string& out_dir) {
  auto inventory = make_inventory();
  auto ns = make_namespaces();
  auto tree = make_tree();
  auto core = make_core();
  auto mm = make_mm();
  auto pagemap = make_pagemap();
  auto files = make_files();
  auto pipes = make_pipes();
  auto objects = make_objects();
  auto contents = make_contents();
  auto included = make_included();
  auto fingerprint = make_fingerprint();
  auto sysv = make_sysv();
  std::string pages(kMaxSeedPages, '\x5a');
  std::vector<SeedFile> image_files = {
      {Kind::Namespaces, 0, framed(Kind::Namespaces, {&ns})},  {Kind::ProcessTree, 0, framed(Kind::ProcessTree, {&tree})},
      {Kind::Core, 1, framed(Kind::Core, {&core})},             {Kind::MemoryMap, 1, framed(Kind::MemoryMap, {&mm})},
      {Kind::Pagemap, 1, framed(Kind::Pagemap, {&pagemap})},    {Kind::Pages, 1, pages},
      {Kind::Files, 1, framed(Kind::Files, {&files})},          {Kind::Pipes, 0, framed(Kind::Pipes, {&pipes})},
      {Kind::MemoryObjects, 0, framed(Kind::MemoryObjects, {&objects})}, {Kind::ObjectPages, 0, std::string(4096, '\x33')},
      {Kind::FileContents, 0, framed(Kind::FileContents, {&contents})}, {Kind::IncludedFiles, 0, framed(Kind::IncludedFiles, {&included})},
      {Kind::Fingerprint, 1, framed(Kind::Fingerprint, {&fingerprint})}, {Kind::SysvIpc, 0, framed(Kind::SysvIpc, {&sysv})},
  };
  std::vector<SeedFile> decode_files = image_files;
  decode_files.push_back({Kind::Inventory, 0, framed(Kind::Inventory, {&inventory})});
  // Two records in one file, so the record loop runs more than once.
  decode_files.push_back({Kind::Pipes, 0, framed(Kind::Pipes, {&pipes, &pipes})});
  decode_files.push_back({Kind::Core, 0, framed(Kind::Core, {})});
  ASSIGN_OR_RETURN(auto compressed, make_compressed_pages(pages));
  const auto& [compressed_pagemap, zpages] = compressed;
  decode_files.push_back({Kind::CompressedPages, 1, zpages});
  for (size_t i = 0; i < decode_files.size(); ++i) {
    const auto& file = decode_files[i];
    std::string seed(1, char(selector(Mode::Decode, kind_index(file.kind))));
    seed += file.bytes.substr(0, 4096);
    std::string name = "gen-decode-" + std::string(image::kind_info(file.kind).name) + "-" + std::to_string(i);
    RETURN_IF_ERROR(write_seed(out_dir, name, seed));
  }
  const char* names[] = {"inventory.img", "core-1.img", "pages-4194304.img", "pstree.img", "dump.log", "core-01.img",
                         "stats-dump.json", ".stats-restore.json.new"};
  for (size_t i = 0; i < std::size(names); ++i)
    RETURN_IF_ERROR(write_seed(out_dir, "gen-name-" + std::to_string(i),
                               std::string(1, char(selector(Mode::Name, 0))) + names[i]));
  {
    // A stats object as cryo writes it, for the name mode's stats parser.
    image::RunStats stats;
    stats.stages_ms = {{"freeze", 0.5}, {"pages", 2.25}};
    stats.total_ms = 3;
    stats.frozen_ms = 2.875;
    stats.processes = stats.threads = 1;
    stats.pages = 2;
    stats.pages_bytes = 8192;
    stats.bytes = 9000;
    RETURN_IF_ERROR(write_seed(out_dir, "gen-name-stats", std::string(1, char(selector(Mode::Name, 0))) + image::run_stats_to_json(stats)));
  }
  RETURN_IF_ERROR(write_seed(out_dir, "gen-dir-sums", dir_input(Mode::DirWithSums, inventory, image_files)));
  RETURN_IF_ERROR(write_seed(out_dir, "gen-dir", dir_input(Mode::Dir, inventory, image_files)));
  // The same image with its pages compressed.
  std::vector<SeedFile> compressed_files;
  for (const auto& file : image_files) {
    if (file.kind == Kind::Pages) compressed_files.push_back({Kind::CompressedPages, 1, zpages});
    else if (file.kind == Kind::Pagemap) compressed_files.push_back({Kind::Pagemap, 1, framed(Kind::Pagemap, {&compressed_pagemap})});
    else compressed_files.push_back(file);
  }
  RETURN_IF_ERROR(write_seed(out_dir, "gen-dir-sums-compressed", dir_input(Mode::DirWithSums, inventory, compressed_files)));
  // One file per directory input as well, so each kind is reachable alone.
  for (const auto& file : image_files)
    RETURN_IF_ERROR(write_seed(out_dir, "gen-dir-sums-" + image::file_name(file.kind, file.pid),
                               dir_input(Mode::DirWithSums, inventory, {file})));
  return {};
}

Result<> split_real_image(const std::string& image_dir, const std::string& out_dir, const std::string& tag) {
  ASSIGN_OR_RETURN(image::Inventory inventory, image::open_image_dir(image_dir));
  std::vector<SeedFile> image_files;
  for (const auto& listed : inventory.files()) {
    auto id = image::identify(listed.name());
    if (!id || id->pid > 256) {
      std::fprintf(stderr, "make_seeds: skipping %s (pid above 256 does not fit a directory input)\n",
                   listed.name().c_str());
      continue;
    }
    ASSIGN_OR_RETURN(std::string bytes, read_file(image_dir + "/" + listed.name()));
    if (id->kind == Kind::Pages) {
      bytes.resize(std::min(bytes.size(), kMaxSeedPages));
    } else {
      std::string seed(1, char(selector(Mode::Decode, kind_index(id->kind))));
      RETURN_IF_ERROR(write_seed(out_dir, tag + "-decode-" + listed.name(), seed + bytes));
    }
    if (bytes.size() > kMaxSeedFile) {
      std::fprintf(stderr, "make_seeds: %s is too large for a directory input\n", listed.name().c_str());
      continue;
    }
    image_files.push_back({id->kind, id->pid, bytes});
  }
  return write_seed(out_dir, tag + "-dir-sums", dir_input(Mode::DirWithSums, inventory, image_files));
}

}  // namespace
}  // namespace cryo::fuzz

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR [IMAGE_DIR...]\n");
    return 2;
  }
  std::string out_dir = argv[1];
  if (auto done = cryo::fuzz::write_generated(out_dir); !done) {
    std::fprintf(stderr, "make_seeds: %s\n", done.error().message.c_str());
    return 1;
  }
  for (int i = 2; i < argc; ++i) {
    if (auto done = cryo::fuzz::split_real_image(argv[i], out_dir, "real" + std::to_string(i - 1)); !done) {
      std::fprintf(stderr, "make_seeds: %s\n", done.error().message.c_str());
      return 1;
    }
  }
  return 0;
}
