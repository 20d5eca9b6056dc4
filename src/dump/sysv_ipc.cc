#include "dump/sysv_ipc.h"

#include <sched.h>

#include <cstdio>

#include "kernel/proc_text.h"
#include "ns/namespace_file.h"

namespace cryo::dump {
namespace {

std::string key_text(int64_t key) {
  char text[32];
  std::snprintf(text, sizeof text, "%#llx", static_cast<unsigned long long>(static_cast<uint32_t>(key)));
  return key == 0 ? "IPC_PRIVATE" : text;
}

}  // namespace

Result<std::vector<SysvObject>> parse_sysvipc(std::string_view text, const std::string& kind) {
  std::vector<SysvObject> objects;
  auto rows = proc_text::lines(text);
  for (size_t i = 1; i < rows.size(); ++i) {  // The first line names the columns.
    auto f = proc_text::fields(rows[i]);
    if (f.empty()) continue;
    if (f.size() < 2) return fail("sysvipc: malformed line '" + std::string(rows[i]) + "'");
    SysvObject object{kind};
    ASSIGN_OR_RETURN(object.key, proc_text::parse_i64(f[0], "sysvipc key"));
    ASSIGN_OR_RETURN(object.id, proc_text::parse_i64(f[1], "sysvipc id"));
    objects.push_back(object);
  }
  return objects;
}

Result<> refuse_sysv_objects(pid_t pid) {
  // /proc/sysvipc shows the reader's IPC namespace, so the files are read from inside the tree's.
  const struct {
    const char* path;
    const char* kind;
  } files[] = {{"/proc/sysvipc/shm", "SysV shared memory segment"},
               {"/proc/sysvipc/sem", "SysV semaphore set"},
               {"/proc/sysvipc/msg", "SysV message queue"}};
  std::vector<SysvObject> found;
  for (const auto& file : files) {
    ASSIGN_OR_RETURN(std::string text, read_file_in_namespace_of(pid, "ipc", CLONE_NEWIPC, file.path));
    ASSIGN_OR_RETURN_CTX(auto objects, parse_sysvipc(text, file.kind), file.path);
    found.insert(found.end(), objects.begin(), objects.end());
  }
  if (found.empty()) return {};
  std::string names;
  for (size_t i = 0; i < found.size() && i < 5; ++i)
    names += (i ? ", " : "") + found[i].kind + " " + std::to_string(found[i].id) + " (key " + key_text(found[i].key) + ")";
  if (found.size() > 5) names += " and " + std::to_string(found.size() - 5) + " more";
  return fail(make_error("the tree's IPC namespace holds " + names + ", which cryo cannot dump yet")
                  .with_hint("remove them (ipcrm) or dump the tree when it holds none"));
}

}  // namespace cryo::dump
