#include "image/tree_plan.h"

#include <map>
#include <optional>
#include <set>

namespace cryo {
namespace {

std::string pid_name(uint32_t pid) { return "pid " + std::to_string(pid); }

// Who creates a process or helper: a process (by index) or a helper (by index).
struct Node {
  bool helper = false;
  size_t index = 0;
  bool operator==(const Node&) const = default;
};

struct Ids {
  uint32_t sid = 0, pgid = 0;
};

class Planner {
 public:
  Planner(const std::vector<image::ProcessEntry>& entries, std::vector<std::string>* problems)
      : entries_(entries), problems_(problems) {}

  TreePlan run() {
    plan_.processes.resize(entries_.size());
    if (!check_entries()) return std::move(plan_);
    size_t before = problems_->size();
    find_helpers();
    if (problems_->size() != before) return std::move(plan_);
    choose_forkers();
    if (problems_->size() != before) return std::move(plan_);
    order();
    // A group whose leader had exited and none of whose members the init adopted: its helper is
    // forked by the member created first, which then joins the group the helper made.
    for (auto& [pgid, h] : helper_of_) {
      if (!forker_of_helper_[h]) {
        for (const Node& n : sequence_) {
          if (n.helper || entries_[n.index].pgid() != pgid) continue;
          forker_of_helper_[h] = n;
          plan_.processes[n.index].helpers.push_back(h);
          break;
        }
      }
    }
    order();
    if (sequence_.size() != entries_.size() + plan_.helpers.size()) {
      problem("the process tree cannot be created in one pass from the init");
      return std::move(plan_);
    }
    assign_actions();
    for (const Node& n : sequence_)
      if (!n.helper) plan_.creation_order.push_back(n.index);
    return std::move(plan_);
  }

 private:
  void problem(const std::string& text) { problems_->push_back(text); }
  uint32_t pid(size_t i) const { return entries_[i].pid(); }

  // The checks every tree must pass before its shape is looked at. Returns whether it passed.
  bool check_entries() {
    size_t before = problems_->size();
    if (entries_.empty()) {
      problem("the process tree is empty");
      return false;
    }
    if (entries_[0].pid() != 1 || entries_[0].ppid() != 0)
      problem("the first process of the tree must be its init (pid 1, ppid 0), not pid " + std::to_string(entries_[0].pid()));
    parent_.assign(entries_.size(), 0);
    for (size_t i = 0; i < entries_.size(); ++i) {
      const auto& e = entries_[i];
      if (e.pid() < 1 || e.pid() > kMaxPid) problem(pid_name(e.pid()) + " is out of the range 1.." + std::to_string(kMaxPid));
      if (!index_.emplace(e.pid(), i).second) problem(pid_name(e.pid()) + " appears twice in the tree");
      if (i > 0 && e.ppid() == 0) problem(pid_name(e.pid()) + " has no parent but is not the init");
      if (i > 0) {
        auto parent = index_.find(e.ppid());
        if (parent == index_.end() || parent->second >= i)
          problem(pid_name(e.pid()) + ": its parent pid " + std::to_string(e.ppid()) + " does not come before it in the tree");
        else
          parent_[i] = parent->second;
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
        if (!tids_.insert(tid).second) problem(pid_name(e.pid()) + ": thread id " + std::to_string(tid) + " is used twice");
      }
      for (uint32_t tid : e.threads())
        if (tid != e.pid() && index_.count(tid)) problem(pid_name(e.pid()) + ": thread id " + std::to_string(tid) + " is also a process");
    }
    return problems_->size() == before;
  }

  // One helper per session and per group whose leader is not in the image. The kernel keeps a
  // session's or group's ID allocated while any member lives, so no process of the tree can have
  // it; in the new namespace it is free for the helper.
  void find_helpers() {
    std::map<uint32_t, uint32_t> group_session;  // Leaderless group -> its session.
    std::set<uint32_t> sessions;                 // Leaderless sessions.
    for (size_t i = 0; i < entries_.size(); ++i) {
      const auto& e = entries_[i];
      // 0 is a session or group outside the namespace: only the init's can be that, inherited.
      if (e.sid() != 0) {
        auto leader = index_.find(e.sid());
        if (leader == index_.end())
          sessions.insert(e.sid());
        else if (entries_[leader->second].sid() != e.sid())
          problem(pid_name(e.pid()) + " is in session " + std::to_string(e.sid()) + " but pid " + std::to_string(e.sid()) +
                  " does not lead it");
      }
      if (e.pgid() != 0 && !index_.count(e.pgid())) {
        auto [it, fresh] = group_session.emplace(e.pgid(), e.sid());
        if (!fresh && it->second != e.sid())
          problem("process group " + std::to_string(e.pgid()) + " spans sessions " + std::to_string(it->second) + " and " +
                  std::to_string(e.sid()) + " (" + pid_name(e.pid()) + ")");
      }
    }
    auto add = [&](uint32_t id, SessionAction action) {
      if (tids_.count(id)) {
        problem("the leader of session or group " + std::to_string(id) + " has exited, but " + std::to_string(id) +
                " is also a thread of the tree");
        return;
      }
      helper_of_[id] = plan_.helpers.size();
      HelperPlan h;
      h.pid = id;
      h.session = action;
      plan_.helpers.push_back(h);
      forker_of_helper_.emplace_back();
    };
    for (uint32_t s : sessions) add(s, SessionAction::NewSession);
    for (const auto& [g, s] : group_session) {
      helper_session_[g] = s;
      // setsid made the session and its group at once: the session's helper makes both.
      if (!sessions.count(g)) add(g, SessionAction::NewGroup);
    }
    for (uint32_t s : sessions) helper_session_[s] = s;
  }

  bool adopted_by_init(size_t i) const { return i != 0 && entries_[i].ppid() == entries_[0].pid(); }

  // The process that hosts the helpers of groups in session `sid`: it is in that session before
  // any other member of it is created.
  Node session_host(uint32_t sid) const {
    if (sid == entries_[0].sid()) return Node{false, 0};
    if (auto h = helper_of_.find(sid); h != helper_of_.end() && plan_.helpers[h->second].session == SessionAction::NewSession)
      return Node{true, h->second};
    return Node{false, index_.at(sid)};
  }

  // A process whose parent had exited was adopted by the init: any process of its session and
  // group that exits after forking it gives it the same parent. The helper of its group, or of its
  // session, is that process; otherwise the init forks it.
  void choose_forkers() {
    forker_.assign(entries_.size(), Node{});
    for (size_t i = 1; i < entries_.size(); ++i) {
      const auto& e = entries_[i];
      Node forker{false, parent_[i]};
      if (adopted_by_init(i)) {
        if (auto g = helper_of_.find(e.pgid()); g != helper_of_.end()) {
          forker = Node{true, g->second};
        } else if (auto s = helper_of_.find(e.sid()); s != helper_of_.end()) {
          forker = Node{true, s->second};
        }
      }
      forker_[i] = forker;
      (forker.helper ? plan_.helpers[forker.index].children : plan_.processes[forker.index].children).push_back(i);
    }
    for (const auto& [id, h] : helper_of_) {
      const HelperPlan& helper = plan_.helpers[h];
      std::optional<Node> forker;
      if (helper.session == SessionAction::NewSession) {
        forker = Node{false, 0};  // setsid works from anywhere: the init forks it.
      } else if (!helper.children.empty()) {
        // It forks members the init adopted: it comes first in its session, from the session's host.
        forker = session_host(helper_session_.at(id));
      }
      // Otherwise the member created first hosts it (run() decides once the order is known).
      if (!forker) continue;
      forker_of_helper_[h] = forker;
      (forker->helper ? plan_.helpers[forker->index].helpers : plan_.processes[forker->index].helpers).push_back(h);
    }
  }

  // Depth first from the init, as the placeholders create each other: a node's helpers (each with
  // its own subtree), then its children.
  void order() {
    sequence_.clear();
    std::vector<Node> stack{Node{false, 0}};
    std::set<std::pair<bool, size_t>> seen;
    while (!stack.empty()) {
      Node n = stack.back();
      stack.pop_back();
      if (!seen.insert({n.helper, n.index}).second) continue;  // Only a malformed plan repeats one.
      sequence_.push_back(n);
      const auto& helpers = n.helper ? plan_.helpers[n.index].helpers : plan_.processes[n.index].helpers;
      const auto& children = n.helper ? plan_.helpers[n.index].children : plan_.processes[n.index].children;
      for (auto it = children.rbegin(); it != children.rend(); ++it) stack.push_back(Node{false, *it});
      for (auto it = helpers.rbegin(); it != helpers.rend(); ++it) stack.push_back(Node{true, *it});
    }
    process_position_.assign(entries_.size(), 0);
    helper_position_.assign(plan_.helpers.size(), 0);
    for (size_t k = 0; k < sequence_.size(); ++k)
      (sequence_[k].helper ? helper_position_ : process_position_)[sequence_[k].index] = k;
  }

  // Walks the creation order, tracking each node's session and group as the kernel would give them,
  // and picks each process's action.
  void assign_actions() {
    std::vector<Ids> mid(entries_.size()), final_ids(entries_.size()), helper_ids(plan_.helpers.size());
    // Children are forked after the forker's setpgid; helpers before it.
    auto ids_for_child = [&](const Node& forker) { return forker.helper ? helper_ids[forker.index] : final_ids[forker.index]; };
    auto ids_for_helper = [&](const Node& forker) { return forker.helper ? helper_ids[forker.index] : mid[forker.index]; };
    for (const Node& n : sequence_) {
      if (n.helper) {
        HelperPlan& h = plan_.helpers[n.index];
        uint32_t sid = helper_session_.at(h.pid);
        Ids inherited = ids_for_helper(*forker_of_helper_[n.index]);
        if (h.session == SessionAction::NewGroup && inherited.sid != sid)
          problem("process group " + std::to_string(h.pid) + " of session " + std::to_string(sid) +
                  " lost its leader and cryo finds no process of that session to recreate it from");
        helper_ids[n.index] = Ids{sid, h.pid};
        continue;
      }
      size_t i = n.index;
      const auto& e = entries_[i];
      // The init starts in cryo's session and group, which are outside the namespace: 0 inside.
      Ids inherited = i == 0 ? Ids{} : ids_for_child(forker_[i]);
      mid[i] = inherited;
      final_ids[i] = Ids{e.sid(), e.pgid()};
      ProcessPlan& p = plan_.processes[i];
      if (e.sid() == e.pid()) {
        if (e.pgid() != e.pid())
          problem(pid_name(e.pid()) + " leads session " + std::to_string(e.sid()) + " but is in process group " +
                  std::to_string(e.pgid()) + " (a session leader always leads its group)");
        p.session = SessionAction::NewSession;
        mid[i] = Ids{e.pid(), e.pid()};
        continue;
      }
      if (e.sid() != inherited.sid) {
        if (adopted_by_init(i) && !forker_[i].helper)
          problem(pid_name(e.pid()) + " was adopted by the init when its parent exited, but stays in session " +
                  std::to_string(e.sid()) + " (whose leader pid " + std::to_string(e.sid()) + " is alive) in process group " +
                  std::to_string(e.pgid()) + "; cryo recreates that only when the group's leader has exited too");
        else
          problem(pid_name(e.pid()) + " is in session " + std::to_string(e.sid()) + " but its parent pid " +
                  std::to_string(e.ppid()) + " is in session " + std::to_string(inherited.sid) +
                  " (its parent left the session after forking it); cryo cannot recreate this tree");
        continue;
      }
      if (e.pgid() == inherited.pgid) {
        p.session = SessionAction::Inherit;
      } else if (e.pgid() == e.pid()) {
        p.session = SessionAction::NewGroup;
      } else {
        check_join(i);
        p.session = SessionAction::JoinGroup;
        p.join_pgid = e.pgid();
      }
    }
  }

  // Joining needs the group to exist in the same session when the process is created.
  void check_join(size_t i) {
    const auto& e = entries_[i];
    if (e.pgid() == 0) {
      problem(pid_name(e.pid()) + " is in a process group outside the namespace but its parent is not; cryo cannot recreate that");
      return;
    }
    if (auto leader = index_.find(e.pgid()); leader != index_.end()) {
      const auto& l = entries_[leader->second];
      if (l.pgid() != l.pid() || l.sid() != e.sid()) {
        problem(pid_name(e.pid()) + " is in process group " + std::to_string(e.pgid()) + " but pid " + std::to_string(l.pid()) +
                " does not lead a group of the same session");
      } else if (process_position_[leader->second] > process_position_[i]) {
        problem(pid_name(e.pid()) + " joins process group " + std::to_string(e.pgid()) +
                " whose leader is created after it; cryo creates processes depth first and cannot order them");
      }
      return;
    }
    // The group's leader had exited: the group exists if this process hosts its helper, or once
    // any member exists (members live until the whole tree is created).
    size_t h = helper_of_.at(e.pgid());
    if (forker_of_helper_[h] == Node{false, i}) return;
    for (size_t k = 0; k < process_position_[i]; ++k)
      if (!sequence_[k].helper && entries_[sequence_[k].index].pgid() == e.pgid()) return;
    if (helper_position_[h] < process_position_[i] && plan_.helpers[h].session == SessionAction::NewSession) {
      problem(pid_name(e.pid()) + " joins process group " + std::to_string(e.pgid()) +
              ", whose leader had exited, when no other member of it is left; cryo cannot recreate that");
      return;
    }
    problem(pid_name(e.pid()) + " joins process group " + std::to_string(e.pgid()) +
            ", whose leader had exited, before any other member of it is created; cryo cannot order this");
  }

  const std::vector<image::ProcessEntry>& entries_;
  std::vector<std::string>* problems_;
  TreePlan plan_;
  std::map<uint32_t, size_t> index_;  // pid -> entry
  std::set<uint32_t> tids_;
  std::vector<size_t> parent_;
  std::map<uint32_t, size_t> helper_of_;        // Session or group ID -> helper.
  std::map<uint32_t, uint32_t> helper_session_; // Helper PID -> the session it is in.
  std::vector<std::optional<Node>> forker_of_helper_;
  std::vector<Node> forker_;
  std::vector<Node> sequence_;
  std::vector<size_t> process_position_, helper_position_;
};

}  // namespace

TreePlan plan_tree(const std::vector<image::ProcessEntry>& entries, std::vector<std::string>* problems) {
  return Planner(entries, problems).run();
}

}  // namespace cryo
