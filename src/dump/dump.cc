#include "dump/dump.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "base/fault_injection.h"
#include "base/file_util.h"
#include "base/interrupt.h"
#include "base/logging.h"
#include "base/progress_line.h"
#include "base/stage_timer.h"
#include "base/unique_fd.h"
#include "dump/cow_sharing.h"
#include "dump/dump_lock.h"
#include "dump/dump_target.h"
#include "dump/fd_owners.h"
#include "dump/file_contents.h"
#include "dump/included_files.h"
#include "dump/fingerprints.h"
#include "dump/freezer.h"
#include "dump/host_inventory.h"
#include "dump/memory_map.h"
#include "dump/namespaces_state.h"
#include "dump/page_dump.h"
#include "dump/pidfd_targets.h"
#include "dump/pre_copy.h"
#include "dump/preflight.h"
#include "dump/process_core.h"
#include "dump/posix_mqueues.h"
#include "dump/process_files.h"
#include "dump/shared_open_files.h"
#include "dump/shared_tables.h"
#include "dump/sysv_ipc.h"
#include "dump/tree_shape.h"
#include "dump/unix_sockets.h"
#include "image/framed_file.h"
#include "image/image_dir.h"
#include "image/object_limits.h"
#include "image/restore_open_files.h"
#include "image/image_kinds.h"
#include "image/signing_keys.h"
#include "kernel/capabilities.h"
#include "kernel/proc_maps.h"
#include "kernel/proc_stat.h"
#include "kernel/proc_statm.h"
#include "kernel/proc_status.h"
#include "kernel/vdso_text.h"
#include "kernel/tree_identity.h"
#include "state/files/pipe.h"
#include "state/process/address_randomization.h"
#include "state/process/job_control_stop.h"
#include "pstree.pb.h"

namespace cryo::dump {
namespace {

using Clock = std::chrono::steady_clock;

auto log() { return logging::get("dump"); }

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// What is known about one frozen process before its images are written.
struct ProcessFacts {
  ProcStatus status;
  ProcStat stat;
  uint32_t pid_inside = 0;
  std::string smaps_at_freeze;  // As the fingerprint read it, before anything was injected.
};

// Everything a dump collects while the tree is frozen, and writes into the image directory.
class TreeDump {
 public:
  TreeDump(const DumpTarget& target, Freezer& freezer, image::ImageDirWriter& writer, StageTimer& stages, bool compress,
           PreCopy* pre_copy)
      : target_(target), freezer_(freezer), writer_(writer), dir_(writer.dir()), stages_(stages), pids_{target.ns_level},
        compress_(compress), pre_copy_(pre_copy) {}

  Result<> collect(const image::ClockReadings& host_clocks) {
    auto started = Clock::now();
    host_clocks_ = host_clocks;
    ASSIGN_OR_RETURN(UniqueFd object_pages, dir_.create_file(image::file_name(image::Kind::ObjectPages)));
    ASSIGN_OR_RETURN(objects_, MemoryObjectCollector::create(std::move(object_pages)));
    ASSIGN_OR_RETURN(init_namespaces_, namespace_inodes(target_.init));
    ASSIGN_OR_RETURN(auto own_namespaces, namespace_inodes(0));
    own_ipc_ = init_namespaces_.at("ipc") != own_namespaces.at("ipc");
    uint64_t private_bytes = 0;  // For the progress line only: what reading the pages will come to, at most.
    for (auto& process : freezer_.processes()) {
      if (auto statm = read_proc_statm(process.pid); statm && !process.zombie) private_bytes += statm->private_resident_bytes();
      ProcessFacts facts;
      ASSIGN_OR_RETURN(facts.status, read_proc_status(process.pid));
      ASSIGN_OR_RETURN(facts.stat, read_proc_stat(process.pid));
      facts.pid_inside = pids_.inside(facts.status);
      inside_[process.pid] = facts.pid_inside;
      facts_.emplace(process.pid, std::move(facts));
    }
    if (ProgressLine* progress = stages_.progress()) progress->set_total(private_bytes);
    std::vector<RandomizationOf> randomization;
    for (auto& process : freezer_.processes())
      if (!process.zombie)
        randomization.push_back({process.pid, describe_process(process.pid, facts_.at(process.pid).status), facts_.at(process.pid).stat.flags});
    ASSIGN_OR_RETURN(address_randomization_off_, tree_randomization_off(randomization));
    RETURN_IF_ERROR(check_shared_kernel_tables(freezer_.processes(), inside_));
    RETURN_IF_ERROR(check_threads_share_their_tables(freezer_.processes(), inside_));
    // Before anything is injected: what the kernel shows of the frozen tree, for restore to verify.
    std::function<void(pid_t, image::ProcessFingerprint&)> hide_tracking;
    if (pre_copy_) hide_tracking = [this](pid_t pid, image::ProcessFingerprint& print) { pre_copy_->hide_tracking(pid, print); };
    ASSIGN_OR_RETURN(auto smaps_of, write_fingerprints(dir_, freezer_.processes(), hide_tracking));
    for (auto& [pid, smaps] : smaps_of) facts_.at(pid).smaps_at_freeze = std::move(smaps);
    log()->debug("fingerprints read in {:.2f} ms", ms_since(started));
    // Before any memory is read (cow_sharing.h says why).
    for (auto& process : freezer_.processes()) {
      pid_t ppid = facts_.at(process.pid).status.ppid;
      if (process.zombie || process.pid == target_.init || !inside_.count(ppid)) continue;
      ASSIGN_OR_RETURN_CTX(shared_with_parent_[process.pid], find_pages_shared_with_parent(process.pid, ppid),
                           describe_process(process.pid, facts_.at(process.pid).status));
    }
    log()->debug("copy-on-write sharing found in {:.2f} ms", ms_since(started));
    for (auto& process : freezer_.processes()) {
      RETURN_IF_ERROR(check_interrupt());
      const ProcessFacts& facts = facts_.at(process.pid);
      image::ProcessEntry* entry = add_tree_entry(process, facts);
      if (process.zombie) continue;
      auto dumped = dump_process(process, facts);
      if (!dumped) return fail(dumped.error().context(describe_process(process.pid, facts.status)));
      for (uint32_t tid : *dumped) entry->add_threads(tid);
    }
    RETURN_IF_ERROR(write_shared_pagemaps());
    RETURN_IF_ERROR(write_sysv_shm());
    log()->debug("processes collected in {:.2f} ms", ms_since(started));
    // Files are written last: which fds share an open file is only known once every process is read.
    RETURN_IF_ERROR_CTX(mark_shared_open_files(files_), "finding fds that share an open file");
    RETURN_IF_ERROR(translate_fd_owners(files_, inside_, pids_));
    RETURN_IF_ERROR(translate_pidfd_targets(files_, inside_, pids_));
    RETURN_IF_ERROR(check_socket_pairs(files_));
    RETURN_IF_ERROR(check_restore_fits_open_file_limit());
    for (const auto& [host_pid, files] : files_)
      RETURN_IF_ERROR(image::write_image(dir_, image::Kind::Files, inside_.at(host_pid), files));
    RETURN_IF_ERROR(image::write_image(dir_, image::Kind::MemoryObjects, 0, objects_->objects()));
    writer_.set_known_checksum(image::file_name(image::Kind::ObjectPages), objects_->pages_checksum());
    ASSIGN_OR_RETURN(image::Pipes pipes, state::collect_pipes(pipe_ends_));
    RETURN_IF_ERROR(image::write_image(dir_, image::Kind::Pipes, 0, pipes));
    ASSIGN_OR_RETURN(image::Namespaces namespaces, collect_namespaces(target_.init, host_clocks));
    RETURN_IF_ERROR(image::write_image(dir_, image::Kind::Namespaces, 0, namespaces));
    RETURN_IF_ERROR(check_tree_can_be_rebuilt(tree_));
    RETURN_IF_ERROR(image::write_image(dir_, image::Kind::ProcessTree, 0, tree_));
    // Last, so that the hashing overlapped everything above.
    RETURN_IF_ERROR(image::write_image(dir_, image::Kind::FileContents, 0, contents_.finish()));
    log()->debug("tree collected in {:.2f} ms", ms_since(started));
    return {};
  }

  uint32_t process_count() const { return static_cast<uint32_t>(tree_.processes_size()); }
  uint64_t page_bytes() const { return page_bytes_; }
  uint64_t thread_count() const { return threads_; }
  uint64_t fd_count() const { return fds_; }
  uint64_t mapping_count() const { return mappings_; }
  const std::vector<image::SpecialMapping>& vdso_layout() const { return vdso_layout_; }
  const image::VdsoText& vdso() const { return vdso_; }
  const std::set<std::string>& used_files() const { return used_files_; }
  bool address_randomization_off() const { return address_randomization_off_; }

 private:
  // The symbols and hash of the init's vdso: a restore on another kernel compares them. Without
  // them restore falls back to comparing the layout only, so a vdso it cannot read is a warning.
  void record_vdso(pid_t pid, const image::Vma& vma) {
    auto text = read_vdso_text(pid, vma.start(), vma.end());
    if (!text) {
      log()->warn("the vdso's symbols are not recorded: {}", text.error().message);
      return;
    }
    vdso_.set_xxh3(text->xxh3);
    vdso_.set_size(text->size);
    vdso_.set_text(text->bytes.data(), text->bytes.size());
    for (const auto& sym : text->symbols) {
      auto* out = vdso_.add_symbols();
      out->set_name(sym.name);
      out->set_offset(sym.offset);
    }
  }

  // Restore holds one fd per memory object above the tree's highest fd number (image/restore_open_files.h):
  // refused here, while the tree still runs, when this host's cryo could not hold them all.
  Result<> check_restore_fits_open_file_limit() {
    int fd_base = image::staging_fd_base(files_, [](const auto& entry) -> const image::ProcessFiles& { return entry.second; });
    return image::check_open_files_for_restore(fd_base, static_cast<uint64_t>(objects_->objects().objects_size()), "dump again");
  }

  // The pagemaps that name pages shared with the parent, each once its pages are compared with the parent's.
  // The tree's SysV shared memory, semaphores, message queues and IPC sysctls, while it is frozen. A tree in the
  // host's IPC namespace had its SysV mappings refused.
  Result<> write_sysv_shm() {
    if (!own_ipc_) return {};
    ASSIGN_OR_RETURN(image::SysvIpc ipc, collect_sysv_ipc(target_.init, *objects_));
    RETURN_IF_ERROR(check_sysv_mappings(ipc, sysv_mappings_));
    // One record of sysv.img holds the POSIX queues' messages beside the SysV objects' bytes.
    // Segments' pages are in objpages.img; only their bytes from before paging would be in the record.
    uint64_t stored = 0;
    for (const auto& s : ipc.segments()) stored += s.contents().size();
    for (const auto& q : ipc.msg_queues())
      for (const auto& m : q.messages()) stored += m.text().size() + 16;
    ASSIGN_OR_RETURN(uint64_t mqueue_dev,
                     collect_posix_mqueues(target_.init, ipc, stored < image::kMaxSysvBytes ? image::kMaxSysvBytes - stored : 0));
    RETURN_IF_ERROR(attach_mqueue_fds(ipc, mqueue_dev, files_, inside_));
    log()->debug("{} SysV shared memory segments, {} semaphore sets, {} message queues, {} POSIX message queues", ipc.segments_size(),
                 ipc.sem_sets_size(), ipc.msg_queues_size(), ipc.posix_queues_size());
    return image::write_image(dir_, image::Kind::SysvIpc, 0, ipc);
  }

  Result<> write_shared_pagemaps() {
    for (auto& [host_pid, dumped] : pagemaps_) {
      auto& [name, pagemap] = dumped;
      if (pagemap.shared_with_parent_size() == 0) continue;
      auto parent = pagemaps_.find(facts_.at(host_pid).status.ppid);
      uint64_t dropped = 0;
      if (parent == pagemaps_.end()) {
        pagemap.clear_shared_with_parent();  // A parent without pages (a zombie) shares none.
      } else {
        ASSIGN_OR_RETURN(dropped, confirm_shared_bytes(dir_, name, pagemap, parent->second.first, parent->second.second));
      }
      if (dropped) log()->debug("pid {}: {} pages written since the frames were compared are not shared", inside_.at(host_pid), dropped);
      RETURN_IF_ERROR(image::write_image(dir_, image::Kind::Pagemap, inside_.at(host_pid), pagemap));
    }
    return {};
  }

  // For --include DIR: the regular files the tree uses.
  void note_used_files(const image::ProcessCore& core, const image::MemoryMap& mm) {
    if (!core.mm().exe().empty()) used_files_.insert(core.mm().exe());
    for (const auto& vma : mm.vmas())
      if ((vma.kind() == image::VMA_FILE_PRIVATE || vma.kind() == image::VMA_FILE_SHARED) && vma.object_id() == 0)
        used_files_.insert(vma.path());
  }

  image::ProcessEntry* add_tree_entry(const FrozenProcess& process, const ProcessFacts& facts) {
    image::ProcessEntry* e = tree_.add_processes();
    e->set_pid(facts.pid_inside);
    e->set_host_pid(static_cast<uint32_t>(process.pid));
    auto parent = inside_.find(facts.status.ppid);
    e->set_ppid(process.pid == target_.init || parent == inside_.end() ? 0 : parent->second);
    // NSpgid/NSsid show 0 where the leader is outside the namespace (e.g. the shell that started
    // the tree): the tree sees the same 0 from getpgid/getsid.
    size_t level = target_.ns_level;
    e->set_pgid(level < facts.status.ns_pgid.size() ? static_cast<uint32_t>(facts.status.ns_pgid[level]) : 0);
    e->set_sid(level < facts.status.ns_sid.size() ? static_cast<uint32_t>(facts.status.ns_sid[level]) : 0);
    if (process.zombie) {
      e->set_zombie(true);
      e->set_exit_code(facts.stat.exit_code);
    }
    return e;  // dump_process tells its threads.
  }

  // The restore's setsid makes each session a new autogroup, and one nice is all it can give the
  // processes of a session. A session led from outside the tree (sid 0) is the host's, whose
  // autogroup is not the tree's to restore.
  Result<> check_session_autogroup(const ProcessFacts& facts, image::ProcessCore& core) {
    size_t level = target_.ns_level;
    uint32_t sid = level < facts.status.ns_sid.size() ? static_cast<uint32_t>(facts.status.ns_sid[level]) : 0;
    if (sid == 0) core.clear_autogroup_nice();
    if (!core.has_autogroup_nice()) return {};
    auto [first, added] = autogroup_nice_.try_emplace(sid, facts.pid_inside, core.autogroup_nice());
    if (added || first->second.second == core.autogroup_nice()) return {};
    return fail(make_error("pids " + std::to_string(first->second.first) + " and " + std::to_string(facts.pid_inside) +
                           " of session " + std::to_string(sid) + " are in autogroups of nice " + std::to_string(first->second.second) +
                           " and " + std::to_string(core.autogroup_nice()) + ", which cryo cannot dump (a restored session has one autogroup)")
                    .with_hint("give both the same nice (/proc/PID/autogroup)"));
  }

  // Writes the images of one live process and returns its thread IDs inside the namespace, leader first.
  Result<std::vector<uint32_t>> dump_process(FrozenProcess& process, const ProcessFacts& facts) {
    auto started = Clock::now();
    RETURN_IF_ERROR(check_process_shape(facts.status, target_));
    ASSIGN_OR_RETURN(auto namespaces, namespace_inodes(process.pid));
    RETURN_IF_ERROR(check_same_namespaces(namespaces, init_namespaces_));
    uint32_t pid = facts.pid_inside;
    auto step = [&](const char* what) { log()->debug("pid {}: {} after {:.2f} ms", pid, what, ms_since(started)); };
    // The core first: it injects syscalls (with a scratch page mapped and unmapped again), which
    // must be over before the memory map is read.
    // Before any injection resumes a thread: the freeze's stops tell a job-control stop.
    ASSIGN_OR_RETURN(JobControlStop stop, read_job_control_stop(process.pid, process.threads, facts.stat));
    uint32_t mlockall_flags = 0;
    ASSIGN_OR_RETURN(image::ProcessCore core, collect_process_core(process, facts.status, facts.stat, pids_, &mlockall_flags));
    record_job_control_stop(stop, core);
    RETURN_IF_ERROR(check_session_autogroup(facts, core));
    step("core");
    RETURN_IF_ERROR(fault_point("dump:after-process-core"));
    // The injections mapped and unmapped a scratch page: the mappings are those of the freeze again.
    ASSIGN_OR_RETURN(std::vector<MapsEntry> maps, read_proc_smaps_reusing(process.pid, facts.smaps_at_freeze));
    if (pre_copy_) pre_copy_->hide_tracking(process.pid, maps);
    ASSIGN_OR_RETURN(image::MemoryMap mm, collect_memory_map(process.pid, maps, *objects_));
    mm.set_mlockall_flags(mlockall_flags);
    // One VMA per maps entry, in order.
    for (size_t i = 0; i < maps.size() && i < static_cast<size_t>(mm.vmas_size()); ++i) {
      const auto& vma = mm.vmas(static_cast<int>(i));
      if (vma.kind() != image::VMA_SYSV_SHM) continue;
      if (!own_ipc_) return fail(host_sysv_refusal(maps[i]));
      sysv_mappings_.push_back({pid, vma.start(), vma.end(), vma.pgoff(), vma.shmid(), vma.path()});
    }
    step("memory map");
    contents_.add_mapped(process.pid, core, mm);
    note_used_files(core, mm);
    std::string pages_name = image::file_name(compress_ ? image::Kind::CompressedPages : image::Kind::Pages, pid);
    stages_.enter("pages");
    // Pre-copied: only what changed since is read now, into the pages file pre-copy began.
    std::optional<Result<DumpedPages>> read_pages;
    if (pre_copy_) read_pages = pre_copy_->finish_process(process.pid, mm, pages_name);
    if (!read_pages) {
      ASSIGN_OR_RETURN(UniqueFd pages_file, dir_.create_file(pages_name));
      read_pages = dump_pages(process.pid, mm, std::move(pages_file), compress_, [this](uint64_t bytes) {
        if (ProgressLine* progress = stages_.progress()) progress->add_done(bytes);
      });
    }
    stages_.enter("collect");
    ASSIGN_OR_RETURN(DumpedPages pages, std::move(*read_pages));
    writer_.set_known_checksum(pages_name, pages.xxh3);
    if (auto shared = shared_with_parent_.find(process.pid); shared != shared_with_parent_.end()) {
      record_shared_with_parent(shared->second, pages.pagemap);
      uint64_t count = 0;
      for (const auto& span : pages.pagemap.shared_with_parent()) count += span.nr_pages();
      log()->debug("pid {}: {} of its stored pages are its parent's by copy-on-write", pid, count);
    }
    const image::Pagemap& pagemap = pages.pagemap;
    step("pages");
    RETURN_IF_ERROR(fault_point("dump:after-pages"));
    ASSIGN_OR_RETURN(image::ProcessFiles files, collect_files(process.pid, pipe_ends_, *objects_, &host_clocks_));
    // The host's queues are not the tree's to dump: a restore elsewhere would not have them.
    for (const auto& fd : files.fds())
      if (fd.kind() == image::FD_POSIX_MQUEUE && !own_ipc_)
        return fail(make_error("fd " + std::to_string(fd.fd()) + " (" + fd.path() +
                               ") is a POSIX message queue of the host's IPC namespace (only a tree with its own, as cryo run "
                               "gives, has its queues dumped), which cryo cannot dump"));
    contents_.add_open(process.pid, files);
    for (const auto& fd : files.fds())
      if (fd.kind() == image::FD_REGULAR) used_files_.insert(fd.path());
    RETURN_IF_ERROR(image::write_image(dir_, image::Kind::Core, pid, core));
    RETURN_IF_ERROR(image::write_image(dir_, image::Kind::MemoryMap, pid, mm));
    // Pages shared with the parent are confirmed against its bytes once every process is dumped.
    if (pagemap.shared_with_parent_size() == 0) RETURN_IF_ERROR(image::write_image(dir_, image::Kind::Pagemap, pid, pagemap));
    pagemaps_[process.pid] = {pages_name, pagemap};
    page_bytes_ += pagemap.pages_file_size();
    int fd_count = files.fds_size();
    threads_ += static_cast<uint64_t>(core.threads_size());
    fds_ += static_cast<uint64_t>(fd_count);
    mappings_ += static_cast<uint64_t>(mm.vmas_size());
    files_[process.pid] = std::move(files);
    if (process.pid == target_.init) {
      for (const image::Vma* vma : special_mappings(mm)) {
        image::SpecialMapping m;
        m.set_name(vma->path());
        m.set_start(vma->start());
        m.set_end(vma->end());
        vdso_layout_.push_back(m);
        if (vma->kind() == image::VMA_VDSO) record_vdso(process.pid, *vma);
      }
    }
    log()->debug("pid {} (host {}): {} mappings, {} page runs, {} KiB of pages, {} fds in {:.2f} ms", pid, process.pid,
                 mm.vmas_size(), pagemap.runs_size(), pagemap.pages_file_size() / 1024, fd_count, ms_since(started));
    std::vector<uint32_t> tids;
    for (const auto& thread : core.threads()) tids.push_back(thread.tid());
    return tids;
  }

  const DumpTarget& target_;
  Freezer& freezer_;
  image::ImageDirWriter& writer_;
  const DirFd& dir_;  // The writer's temporary directory.
  StageTimer& stages_;
  PidTranslation pids_;
  std::map<pid_t, ProcessFacts> facts_;
  std::map<pid_t, uint32_t> inside_;  // Host PID -> PID inside the namespace.
  std::map<uint32_t, std::pair<uint32_t, int32_t>> autogroup_nice_;  // Session -> its first process and its autogroup's nice.
  std::map<std::string, uint64_t> init_namespaces_;
  image::ProcessTree tree_;
  std::vector<PipeEnd> pipe_ends_;
  std::optional<MemoryObjectCollector> objects_;  // Created when collecting starts.
  bool own_ipc_ = false;                            // The tree has an IPC namespace of its own.
  bool address_randomization_off_ = false;          // Every process was exec'd without it (address_randomization.h).
  bool compress_ = false;                           // --compress
  image::ClockReadings host_clocks_;                // The kernel's clocks at the freeze.
  PreCopy* pre_copy_ = nullptr;                     // --pre-copy: most pages were copied before the freeze.
  std::vector<SysvMapping> sysv_mappings_;         // Every attachment of a SysV segment in the tree.
  std::map<pid_t, image::ProcessFiles> files_;  // By host PID, written once all are collected.
  std::map<pid_t, std::vector<PageRange>> shared_with_parent_;  // By host PID: pages that are the parent's.
  std::map<pid_t, std::pair<std::string, image::Pagemap>> pagemaps_;  // By host PID: pages file name and its index.
  std::vector<image::SpecialMapping> vdso_layout_;
  FileContentCollector contents_;
  image::VdsoText vdso_;
  std::set<std::string> used_files_;
  uint64_t page_bytes_ = 0;
  uint64_t threads_ = 0;   // Of live processes (a zombie has none).
  uint64_t fds_ = 0;
  uint64_t mappings_ = 0;
};

// The bytes of the image: every file the inventory lists, the inventory itself and the signature.
uint64_t image_bytes(const DirFd& dir) {
  uint64_t total = 0;
  auto names = dir.list();
  if (!names) return 0;
  for (const auto& name : *names) {
    if (image::is_outside_inventory(name)) continue;
    if (auto st = dir.stat_entry(name); st && S_ISREG(st->st_mode)) total += static_cast<uint64_t>(st->st_size);
  }
  return total;
}

image::RunStats dump_stats(const TreeDump& tree, const StageTimer& stages, double frozen_ms, uint64_t bytes, bool complete,
                           const PreCopy* pre_copy) {
  image::RunStats stats;
  stats.command = image::StatsCommand::Dump;
  stats.complete = complete;
  stats.stages_ms = stages.stages();
  stats.total_ms = stages.elapsed_ms();
  stats.frozen_ms = frozen_ms;
  stats.processes = tree.process_count();
  stats.threads = tree.thread_count();
  stats.fds = tree.fd_count();
  stats.mappings = tree.mapping_count();
  stats.pages_bytes = tree.page_bytes();
  stats.pages = tree.page_bytes() / 4096;
  stats.bytes = bytes;
  if (pre_copy) {
    stats.pre_copy_rounds = pre_copy->stats().rounds;
    stats.pre_copy_bytes = pre_copy->stats().bytes;
  }
  return stats;
}

// Freezes, collects and commits; then kills or resumes the tree.
Result<DumpSummary> freeze_and_write(const DumpTarget& target, const DumpOptions& options, image::ImageDirWriter& writer,
                                     const image::SigningKey* key, Clock::time_point started, StageTimer& stages) {
  RETURN_IF_ERROR(preflight_check(target));
  RETURN_IF_ERROR(check_include_paths(options.include));
  log()->debug("preflight done in {:.2f} ms", ms_since(started));

  // --pre-copy: the memory is copied while the tree runs; the freeze below copies what changed since.
  std::optional<PreCopy> pre_copy;
  if (options.pre_copy) {
    stages.enter("pre_copy");
    ASSIGN_OR_RETURN(PreCopy started_copy, PreCopy::start(target.init, writer.dir(), options.compress));
    pre_copy.emplace(std::move(started_copy));
    RETURN_IF_ERROR(pre_copy->copy_rounds());
  }

  // cryo may itself run in a time namespace (a container with shifted clocks): the image records
  // the kernel's clocks, which the tree's offsets apply to.
  ASSIGN_OR_RETURN(ClockOffsets own_offsets, own_timens_offsets());
  stages.enter("freeze");
  auto frozen_at = Clock::now();
  ASSIGN_OR_RETURN(Freezer freezer, Freezer::freeze(target.init));
  image::ClockReadings host_clocks = read_host_clocks(own_offsets);
  // Which tree this is, so that restore refuses while it runs (see restore/live_copy.h).
  ASSIGN_OR_RETURN(TreeIdentityFacts identity, read_tree_identity(target.init));
  log()->debug("froze {} processes in {:.2f} ms", freezer.processes().size(), ms_since(frozen_at));
  RETURN_IF_ERROR(fault_point("dump:after-freeze"));

  stages.enter("collect");
  TreeDump tree(target, freezer, writer, stages, options.compress, pre_copy ? &*pre_copy : nullptr);
  RETURN_IF_ERROR(tree.collect(host_clocks));
  if (!options.include.empty()) {
    ASSIGN_OR_RETURN(image::IncludedFiles included, collect_included(options.include, tree.used_files()));
    log()->debug("--include: {} files carried in the image", included.files_size());
    RETURN_IF_ERROR(image::write_image(writer.dir(), image::Kind::IncludedFiles, 0, included));
  }
  double frozen_ms = 0;
  if (options.leave_running) {
    // Everything is read: the tree may run on while the image is committed.
    stages.enter("release");
    RETURN_IF_ERROR_CTX(freezer.resume(), "resuming the tree after the dump");
    frozen_ms = ms_since(frozen_at);
  }
  if (pre_copy) {
    // The tree runs again: its tracking goes (which costs the kernel ~130 ms a 2 GiB).
    pre_copy->stop();
    const PreCopyStats& s = pre_copy->stats();
    log()->info("pre-copy: {} processes, {} rounds, {} KiB copied while the tree ran (seized {:.2f} ms to start), {} KiB at the freeze",
                s.processes, s.rounds, s.bytes / 1024, s.pause_ms, s.final_bytes / 1024);
  }

  stages.enter("write");
  image::Inventory inventory;
  RETURN_IF_ERROR(fill_host_facts(inventory));
  for (const auto& m : tree.vdso_layout()) *inventory.add_vdso_layout() = m;
  if (tree.vdso().size() != 0) *inventory.mutable_vdso() = tree.vdso();
  *inventory.mutable_host_clocks() = host_clocks;
  inventory.set_root_pid(static_cast<uint32_t>(target.init));
  inventory.mutable_source_tree()->set_boot_id(identity.boot_id);
  inventory.mutable_source_tree()->set_pidns_inode(identity.pidns_inode);
  inventory.mutable_source_tree()->set_init_start_time(identity.init_start_time);
  inventory.set_process_count(tree.process_count());
  inventory.set_address_randomization_off(tree.address_randomization_off());
  RETURN_IF_ERROR(fault_point("dump:before-commit"));
  // The last moment a signal aborts the dump: once committed, the image is whole and the tree is
  // ended (or already runs on) in a few ms whatever comes.
  RETURN_IF_ERROR(check_interrupt());
  // Stats are part of every complete image: these, as they stand before the commit, are synced with
  // it, and replaced by the complete ones below once the tree is ended.
  RETURN_IF_ERROR_CTX(image::write_stats_file(writer.dir(), dump_stats(tree, stages, options.leave_running ? frozen_ms : ms_since(frozen_at),
                                                                      image_bytes(writer.dir()), false, pre_copy ? &*pre_copy : nullptr)),
                      "writing the dump's stats");
  RETURN_IF_ERROR(writer.commit(std::move(inventory), key, &stages));
  log()->debug("image committed to {} after {:.2f} ms", options.dir, ms_since(started));
  // A failure between the commit and the kill leaves the tree alive: the image must not stay
  // behind looking complete, or the user could restore a second copy of a tree that runs on.
  if (auto injected = fault_point("dump:after-commit"); !injected) {
    writer.withdraw();
    return fail(injected.error());
  }

  if (!options.leave_running) {
    // Only now: until the image is safely committed, a failure must leave the tree alive.
    stages.enter("kill");
    RETURN_IF_ERROR_CTX(freezer.kill(), "killing the tree after the dump");
    frozen_ms = ms_since(frozen_at);
  }
  stages.stop();
  DumpSummary summary;
  summary.stats = dump_stats(tree, stages, frozen_ms, image_bytes(writer.dir()), true, pre_copy ? &*pre_copy : nullptr);
  // The image is whole and the tree ended: a failure here costs only the complete stats (the ones
  // written before the commit stay).
  if (auto kept = image::write_stats_file(writer.dir(), summary.stats); !kept)
    log()->warn("the image keeps the stats from before its commit: {}", kept.error().message);
  summary.processes = tree.process_count();
  summary.page_bytes = tree.page_bytes();
  summary.frozen_ms = frozen_ms;
  summary.total_ms = ms_since(started);
  return summary;
}

}  // namespace

Result<DumpSummary> dump_tree(const DumpOptions& options) {
  auto started = Clock::now();
  ProgressLine progress("dump", STDERR_FILENO, options.progress);
  StageTimer stages(&progress);
  stages.enter("preflight");
  InterruptSignals interrupts;
  // Before anything is seized or created: without these a dump fails halfway, less clearly.
  RETURN_IF_ERROR(require_capabilities(required_checkpoint_restore_capabilities(), "cryo dump"));
  std::optional<image::SigningKey> key;
  if (!options.sign_key.empty()) {
    auto loaded = image::load_signing_key(options.sign_key);
    if (!loaded) return fail(loaded.error().context("--sign"));
    key.emplace(std::move(*loaded));
  }
  ASSIGN_OR_RETURN(DumpTarget target, find_dump_target(options.pid));
  ASSIGN_OR_RETURN(DumpLock lock, DumpLock::acquire(target.pidns_inode, target.init));
  ASSIGN_OR_RETURN(image::ImageDirWriter writer, image::ImageDirWriter::create(options.dir));
  ASSIGN_OR_RETURN(UniqueFd log_file, writer.dir().create_file("dump.log"));
  logging::open_file(std::move(log_file));
  log()->debug("cryo {} dumping the tree of PID {} into {}{}", CRYO_VERSION, target.init, options.dir,
               options.leave_running ? " (leave running)" : "");
  auto summary = freeze_and_write(target, options, writer, key ? &*key : nullptr, started, stages);
  if (!summary) {
    const Error& e = summary.error();
    log()->debug("dump failed: {}{}", e.message, e.hint.empty() ? "" : "; " + e.hint);
    logging::close_file();
    std::string no_log = writer.keep_failure_log();
    // The Freezer has given every task back, and the writer removes its temporary directory.
    if (int sig = interrupt_taken())
      return fail(make_error("dump interrupted by " + interrupt_signal_name(sig) +
                             "; the tree runs on unchanged, no image was written"));
    if (!no_log.empty()) return fail(make_error(e.message).with_hint(e.hint.empty() ? no_log : e.hint + "; " + no_log));
    return summary;
  }
  log()->debug("dumped {} processes, {} bytes of pages in {:.2f} ms (frozen {:.2f} ms)", summary->processes,
               summary->page_bytes, summary->total_ms, summary->frozen_ms);
  return summary;
}

}  // namespace cryo::dump
