// cryo show --ps / --fds / --mems on real dumps of workloads whose shape is known: the tree of
// cr_tree (5 processes, 2 sessions), the fds cr_files opened at fixed numbers, the copy-on-write
// region cr_cow forked its children with. Text and JSON both.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

#include "e2e/checkpoint_harness.h"
#include "e2e/harness.h"

namespace cryo::e2e {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

Struct parse_json(const std::string& text) {
  Struct parsed;
  auto status = google::protobuf::util::JsonStringToMessage(text, &parsed);
  EXPECT_TRUE(status.ok()) << status.message() << "\n" << text.substr(0, 2000);
  return parsed;
}

double number(const Struct& object, const std::string& key) { return object.fields().at(key).number_value(); }
const std::string& text_of(const Struct& object, const std::string& key) { return object.fields().at(key).string_value(); }
const google::protobuf::RepeatedPtrField<Value>& list(const Struct& object, const std::string& key) {
  return object.fields().at(key).list_value().values();
}

// The JSON process entry of `pid`.
const Struct* process(const Struct& summary, uint32_t pid) {
  for (const Value& entry : list(summary, "processes"))
    if (number(entry.struct_value(), "pid") == pid) return &entry.struct_value();
  return nullptr;
}

// Reads "KEY=NUMBER" out of a READY line.
int ready_value(const std::string& log, const std::string& key) {
  std::smatch match;
  if (!std::regex_search(log, match, std::regex(key + "=(-?[0-9]+)"))) return -1;
  return std::stoi(match[1]);
}

// Fields of the text table row whose first field is `first`, within the block of `pid` ("" when
// the summary is one table).
std::vector<std::string> row(const std::string& text, const std::string& first) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::vector<std::string> cells;
    std::string cell;
    while (fields >> cell) cells.push_back(cell);
    if (!cells.empty() && cells[0] == first) return cells;
  }
  return {};
}

TEST(ShowSummaries, PsShowsTheTreeWithSessionsGroupsAndCommands) {
  CheckpointSession session;
  pid_t init = session.start("cr_tree");
  ASSERT_GT(init, 0);
  std::string ready = slurp(session.log_path());
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  const int p2 = ready_value(ready, "P2"), p3 = ready_value(ready, "P3"), p4 = ready_value(ready, "P4"),
            p5 = ready_value(ready, "P5");
  ASSERT_GT(p5, 0) << ready;

  auto text = run_cryo({"show", "-D", session.image_path(), "--ps"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_EQ(text.out.rfind("PID", 0), 0u) << text.out;
  // PID PPID PGID SID HOST-PID THREADS STATE COMM ...
  auto one = row(text.out, "1");
  ASSERT_GE(one.size(), 8u) << text.out;
  EXPECT_EQ(one[1], "0");
  EXPECT_EQ(one[2], "1");
  EXPECT_EQ(one[3], "1");
  EXPECT_EQ(one[5], "1");
  EXPECT_EQ(one[6], "running");
  EXPECT_EQ(one[7], "cr_tree");
  EXPECT_NE(text.out.find(workload("cr_tree")), std::string::npos) << text.out;
  auto five = row(text.out, std::to_string(p5));
  ASSERT_GE(five.size(), 4u) << text.out;
  EXPECT_EQ(five[1], std::to_string(p4));
  EXPECT_EQ(five[2], std::to_string(p4));  // P4's group and session.
  EXPECT_EQ(five[3], std::to_string(p4));
  EXPECT_EQ(row(text.out, std::to_string(p3)).at(2), std::to_string(p2));
  // P5 is a grandchild of the init: indented twice under it.
  EXPECT_NE(text.out.find("    cr_tree"), std::string::npos) << text.out;

  auto json = run_cryo({"show", "-D", session.image_path(), "--ps", "--json"});
  ASSERT_EQ(json.status, 0) << json.err;
  Struct summary = parse_json(json.out);
  EXPECT_EQ(list(summary, "processes").size(), 5);
  const Struct* entry = process(summary, p5);
  ASSERT_NE(entry, nullptr) << json.out;
  EXPECT_EQ(number(*entry, "ppid"), p4);
  EXPECT_EQ(number(*entry, "sid"), p4);
  EXPECT_EQ(number(*entry, "depth"), 2);
  EXPECT_EQ(text_of(*entry, "state"), "running");
  EXPECT_EQ(text_of(*entry, "comm"), "cr_tree");
  EXPECT_FALSE(entry->fields().at("zombie").bool_value());
  EXPECT_EQ(list(*process(summary, 1), "command").Get(0).string_value(), workload("cr_tree"));
}

TEST(ShowSummaries, PsShowsZombiesWithTheirExitStatus) {
  CheckpointSession session;
  pid_t init = session.start("cr_sessions");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  auto text = run_cryo({"show", "-D", session.image_path(), "--ps"});
  ASSERT_EQ(text.status, 0) << text.err;
  // Z exited 5, K2 exited 3 (see cr_sessions.c).
  EXPECT_NE(text.out.find("zombie (exit 5)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("zombie (exit 3)"), std::string::npos) << text.out;
  auto json = run_cryo({"show", "-D", session.image_path(), "--ps", "--json"});
  Struct summary = parse_json(json.out);
  int zombies = 0;
  for (const Value& entry : list(summary, "processes")) zombies += entry.struct_value().fields().at("zombie").bool_value();
  EXPECT_EQ(zombies, 2);
}

TEST(ShowSummaries, FdsShowTheFilesTheWorkloadOpened) {
  CheckpointSession session;
  const std::string dir = session.dir().path();
  pid_t init = session.start("cr_files", {"--dir=" + dir});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));

  auto text = run_cryo({"show", "-D", session.image_path(), "--fds"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("pid 1 (cr_files): cwd " + dir + ", root /"), std::string::npos) << text.out;
  // FD KIND MODE FLAGS TARGET
  EXPECT_EQ(row(text.out, "10"), (std::vector<std::string>{"10", "file", "r", "O_LARGEFILE", dir + "/data.bin", "(pos", "12345)"}))
      << text.out;
  auto append = row(text.out, "11");
  ASSERT_GE(append.size(), 5u);
  EXPECT_EQ(append[2], "w");
  EXPECT_NE(append[3].find("O_APPEND"), std::string::npos);
  EXPECT_NE(row(text.out, "12").at(3).find("O_CLOEXEC"), std::string::npos) << text.out;
  EXPECT_EQ(row(text.out, "13").at(4), "/dev/null");
  EXPECT_EQ(row(text.out, "13").at(1), "chardev");
  EXPECT_EQ(row(text.out, "14").at(1), "directory");
  EXPECT_EQ(row(text.out, "15").at(4), dir + "/data.bin");

  auto json = run_cryo({"show", "-D", session.image_path(), "--fds", "--json"});
  ASSERT_EQ(json.status, 0) << json.err;
  Struct summary = parse_json(json.out);
  const Struct* init_entry = process(summary, 1);
  ASSERT_NE(init_entry, nullptr);
  EXPECT_EQ(text_of(*init_entry, "cwd"), dir);
  std::map<int, const Struct*> fds;
  for (const Value& fd : list(*init_entry, "fds")) fds[static_cast<int>(number(fd.struct_value(), "fd"))] = &fd.struct_value();
  // Exactly 0-2 and 10-15, as cr_files checks itself.
  std::vector<int> numbers;
  for (const auto& [number, fd] : fds) numbers.push_back(number);
  EXPECT_EQ(numbers, (std::vector<int>{0, 1, 2, 10, 11, 12, 13, 14, 15}));
  ASSERT_TRUE(fds.contains(10));
  EXPECT_EQ(text_of(*fds[10], "kind"), "file");
  EXPECT_EQ(text_of(*fds[10], "path"), dir + "/data.bin");
  EXPECT_EQ(text_of(*fds[10], "target"), dir + "/data.bin (pos 12345)");
  EXPECT_EQ(text_of(*fds[12], "mode"), "rw");
}

TEST(ShowSummaries, MemsShowMappingsAndWhereTheirPagesAre) {
  CheckpointSession session;
  // 600 pages: enough for every child's written pages (P5 writes 500-502).
  pid_t init = session.start("cr_cow", {"--pages=600"});
  ASSERT_GT(init, 0);
  std::string ready = slurp(session.log_path());
  const int p1 = ready_value(ready, "P1");
  ASSERT_GT(p1, 0) << ready;
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));

  auto json = run_cryo({"show", "-D", session.image_path(), "--mems", "--json"});
  ASSERT_EQ(json.status, 0) << json.err;
  Struct summary = parse_json(json.out);
  EXPECT_EQ(number(summary, "page_size"), 4096);
  const Struct* init_entry = process(summary, 1);
  const Struct* child = process(summary, p1);
  ASSERT_NE(init_entry, nullptr);
  ASSERT_NE(child, nullptr);
  bool region = false, vdso = false, binary = false;
  for (const Value& value : list(*init_entry, "mappings")) {
    const Struct& vma = value.struct_value();
    const Struct& pages = vma.fields().at("pages").struct_value();
    // Every mapping's pages are accounted for exactly once.
    EXPECT_EQ(number(pages, "total"), number(pages, "in_image") + number(pages, "in_object") + number(pages, "from_file") +
                                          number(pages, "not_stored"));
    EXPECT_EQ(number(pages, "total") * 4096, number(vma, "size"));
    // The region the init filled before it forked: private anonymous, read-write, every page stored.
    if (text_of(vma, "kind") == "anon-private" && text_of(vma, "prot") == "rw-p" && number(pages, "in_image") >= 600) region = true;
    if (text_of(vma, "kind") == "vdso") {
      vdso = true;
      EXPECT_EQ(number(pages, "not_stored"), number(pages, "total"));
      EXPECT_EQ(text_of(vma, "backing"), "[vdso]");
    }
    if (text_of(vma, "backing") == workload("cr_cow") && text_of(vma, "prot") == "r-xp") {
      binary = true;
      EXPECT_EQ(text_of(vma, "kind"), "file-private");
      EXPECT_GT(number(pages, "from_file"), 0);
    }
  }
  EXPECT_TRUE(region) << json.out.substr(0, 4000);
  EXPECT_TRUE(vdso);
  EXPECT_TRUE(binary);
  // The init's pages are its own; P1 still shares with it all but the 6 written since the fork
  // (0-2 by the init, 100-102 by P1).
  const Struct& init_total = init_entry->fields().at("total").struct_value();
  EXPECT_EQ(number(init_total, "cow_shared"), 0);
  const Struct& child_total = child->fields().at("total").struct_value();
  EXPECT_GE(number(child_total, "cow_shared"), 590) << json.out.substr(0, 4000);
  EXPECT_LE(number(child_total, "cow_shared"), number(child_total, "in_image"));

  auto text = run_cryo({"show", "-D", session.image_path(), "--mems"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("pid 1 (cr_cow): "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("shared copy-on-write with the parent"), std::string::npos);
  // START END SIZE PROT KIND PAGES IMAGE COW OBJECT FILE NOT-STORED BACKING
  std::istringstream lines(text.out);
  std::string line;
  bool vdso_row = false;
  while (std::getline(lines, line)) {
    if (line.find(" vdso ") == std::string::npos) continue;
    std::istringstream fields(line);
    std::vector<std::string> cells;
    for (std::string cell; fields >> cell;) cells.push_back(cell);
    ASSERT_EQ(cells.size(), 12u) << line;
    EXPECT_EQ(cells[3], "r-xp");
    EXPECT_EQ(cells[10], cells[5]);
    EXPECT_EQ(cells[11], "[vdso]");
    vdso_row = true;
  }
  EXPECT_TRUE(vdso_row) << text.out;
}

TEST(ShowSummaries, GoldenImageSummariesDecode) {
  // An image of an older cryo (without objects.img or fingerprints) still summarises.
  const std::string image = std::string(CRYO_GOLDEN_IMAGES) + "/v1-counter";
  for (const char* summary : {"--ps", "--fds", "--mems"}) {
    auto text = run_cryo({"show", "-D", image, summary});
    EXPECT_EQ(text.status, 0) << summary << ": " << text.err;
    EXPECT_FALSE(text.out.empty());
    auto json = run_cryo({"show", "-D", image, summary, "--json"});
    EXPECT_EQ(json.status, 0) << summary << ": " << json.err;
    Struct parsed = parse_json(json.out);
    EXPECT_NE(process(parsed, 1), nullptr) << summary;
  }
  auto both = run_cryo({"show", "-D", image, "--ps", "--fds"});
  EXPECT_EQ(both.status, 2);
}

}  // namespace
}  // namespace cryo::e2e
