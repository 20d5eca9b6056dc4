#include "restore/tree_plan.h"

#include <map>
#include <set>

namespace cryo::restore {
namespace {

std::string pid_name(uint32_t pid) { return "pid " + std::to_string(pid); }

}  // namespace

TreePlan plan_tree(const std::vector<image::ProcessEntry>& entries, std::vector<std::string>* problems) {
  TreePlan plan;
  plan.processes.resize(entries.size());
  size_t before = problems->size();
  auto problem = [&](const std::string& text) { problems->push_back(text); };

  if (entries.empty()) {
    problem("the process tree is empty");
    return plan;
  }
  if (entries[0].pid() != 1 || entries[0].ppid() != 0)
    problem("the first process of the tree must be its init (pid 1, ppid 0), not pid " + std::to_string(entries[0].pid()));

  std::map<uint32_t, size_t> index;
  std::set<uint32_t> tids;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (e.pid() < 1 || e.pid() > kMaxPid) problem(pid_name(e.pid()) + " is out of the range 1.." + std::to_string(kMaxPid));
    if (!index.emplace(e.pid(), i).second) problem(pid_name(e.pid()) + " appears twice in the tree");
    if (i > 0 && e.ppid() == 0) problem(pid_name(e.pid()) + " has no parent but is not the init");
    if (i > 0) {
      auto parent = index.find(e.ppid());
      if (parent == index.end() || parent->second >= i)
        problem(pid_name(e.pid()) + ": its parent pid " + std::to_string(e.ppid()) + " does not come before it in the tree");
      else
        plan.processes[parent->second].children.push_back(i);
    }
    if (!e.zombie()) {
      if (e.threads_size() == 0 || e.threads(0) != e.pid())
        problem(pid_name(e.pid()) + ": the first thread must be the leader (tid == pid)");
    } else if (e.threads_size() > 1) {
      problem(pid_name(e.pid()) + " is a zombie with threads");
    }
    for (uint32_t tid : e.threads()) {
      if (tid < 1 || tid > kMaxPid) problem(pid_name(e.pid()) + ": thread " + std::to_string(tid) + " is out of range");
      // A thread other than the leader must not share its number with any process or thread.
      if (!tids.insert(tid).second) problem(pid_name(e.pid()) + ": thread id " + std::to_string(tid) + " is used twice");
    }
    for (uint32_t tid : e.threads())
      if (tid != e.pid() && index.count(tid)) problem(pid_name(e.pid()) + ": thread id " + std::to_string(tid) + " is also a process");
  }
  if (problems->size() != before) return plan;

  // Depth-first creation order: each placeholder creates its whole subtree before its parent goes
  // on to the next child, so everything earlier in this order exists when a process is created.
  std::vector<size_t> stack{0};
  while (!stack.empty()) {
    size_t i = stack.back();
    stack.pop_back();
    plan.creation_order.push_back(i);
    const auto& children = plan.processes[i].children;
    for (auto it = children.rbegin(); it != children.rend(); ++it) stack.push_back(*it);
  }
  std::vector<size_t> position(entries.size());
  for (size_t k = 0; k < plan.creation_order.size(); ++k) position[plan.creation_order[k]] = k;

  for (size_t i : plan.creation_order) {
    const auto& e = entries[i];
    // The init starts in cryo's session and group, which are outside the namespace: 0 inside.
    uint32_t inherited_sid = 0, inherited_pgid = 0;
    if (i != 0) {
      const auto& parent = entries[index[e.ppid()]];
      inherited_sid = parent.sid();
      inherited_pgid = parent.pgid();
    }
    auto& p = plan.processes[i];
    if (e.sid() == e.pid()) {
      if (e.pgid() != e.pid())
        problem(pid_name(e.pid()) + " leads session " + std::to_string(e.sid()) + " but is in process group " +
                std::to_string(e.pgid()) + " (a session leader always leads its group)");
      p.session = SessionAction::NewSession;
      continue;
    }
    if (e.sid() != inherited_sid) {
      problem(pid_name(e.pid()) + " is in session " + std::to_string(e.sid()) + " but its parent is in session " +
              std::to_string(inherited_sid) +
              "; only a session leader can differ from its parent, so cryo cannot recreate this tree");
      continue;
    }
    if (e.pgid() == inherited_pgid) {
      p.session = SessionAction::Inherit;
    } else if (e.pgid() == e.pid()) {
      p.session = SessionAction::NewGroup;
    } else {
      auto leader = index.find(e.pgid());
      if (e.pgid() == 0 || leader == index.end()) {
        problem(pid_name(e.pid()) + " is in process group " + std::to_string(e.pgid()) +
                " whose leader is not in the image; cryo cannot recreate a group without its leader");
        continue;
      }
      const auto& l = entries[leader->second];
      if (l.pgid() != l.pid() || l.sid() != e.sid()) {
        problem(pid_name(e.pid()) + " is in process group " + std::to_string(e.pgid()) + " but pid " +
                std::to_string(l.pid()) + " does not lead a group of the same session");
        continue;
      }
      if (position[leader->second] > position[i]) {
        problem(pid_name(e.pid()) + " joins process group " + std::to_string(e.pgid()) +
                " whose leader is created after it; cryo creates processes depth first and cannot order them");
        continue;
      }
      p.session = SessionAction::JoinGroup;
      p.join_pgid = e.pgid();
    }
  }
  return plan;
}

}  // namespace cryo::restore
