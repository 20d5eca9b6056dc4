// A database server nobody wrote for cryo goes through dump and restore: PostgreSQL as Debian ships
// it, a postmaster with its checkpointer, WAL writer and background workers running as `postgres`,
// sharing memory (an anonymous shared mapping, a SysV segment and a POSIX shm file) and a unix
// socket. A sh init runs it and checks it with psql from inside the tree, so PIDs are the tree's.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "e2e/checkpoint_harness.h"
#include "e2e/program_scripts.h"

namespace cryo::e2e {
namespace {

// The postgres server of the newest version installed, or "".
std::string postgres_bin_dir() {
  std::string found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string bin = entry.path() / "bin";
    if (::access((bin + "/postgres").c_str(), X_OK) == 0 && bin > found) found = bin;
  }
  return found;
}

// What must be the same after the restore, read with one query: the table's sum, the postmaster's
// start time and the PIDs of its auxiliary processes. A server that had crashed and restarted
// (recovery) would show a new start time and new PIDs, and its sequence would jump past the
// values it had logged ahead: the next value must be exactly the one after the dump's.
constexpr const char* kPostgresInit = R"sh(
dir=$1; bin=$2
export PATH="$bin:$PATH"
q() { runuser -u postgres -- psql -h "$dir/sock" -U postgres -X -Atq -v ON_ERROR_STOP=1 -c "$1" postgres; }
runuser -u postgres -- initdb -D "$dir/data" -A trust >"$dir/initdb.log" 2>&1 || { echo "FAIL: initdb"; exit 1; }
runuser -u postgres -- postgres -D "$dir/data" -k "$dir/sock" -c listen_addresses= -c shared_buffers=16MB &
master=$!
for i in $(seq 100); do runuser -u postgres -- pg_isready -q -h "$dir/sock" && break; sleep 0.1; done
state="select sum(x), pg_postmaster_start_time(),
        (select string_agg(backend_type || '=' || pid, ',' order by backend_type) from pg_stat_activity
         where backend_type in ('checkpointer', 'walwriter', 'background writer', 'autovacuum launcher'))
        from t"
q "create table t(x int primary key); insert into t select generate_series(1, 100000); create sequence s;
   select nextval('s'); select nextval('s'); checkpoint" >/dev/null || { echo "FAIL: setup"; exit 1; }
q "$state" >"$dir/before"
echo READY
check() {
  q "$state" >"$dir/after"
  if ! cmp -s "$dir/before" "$dir/after"; then echo "FAIL: state was $(cat "$dir/before"), is $(cat "$dir/after")"; return; fi
  next=$(q "select nextval('s')")
  if [ "$next" != 3 ]; then echo "FAIL: the sequence gave $next after 2"; return; fi
  # Writes, a WAL flush and a checkpoint through the restored shared memory and processes.
  sum=$(q "update t set x = x + 1000000 where x <= 1000; checkpoint; select sum(x) from t") || { echo "FAIL: write"; return; }
  if [ "$sum" != 6000050000 ]; then echo "FAIL: the sum is $sum after the update"; return; fi
  echo PASS
}
trap 'check; runuser -u postgres -- pg_ctl stop -D "$dir/data" -m fast -s; wait $master; exit 0' USR1
while :; do sleep 0.1; done
)sh";

TEST(CheckpointDatabases, PostgresServesOnWithItsDataSequenceAndProcesses) {
  std::string bin = postgres_bin_dir();
  ASSERT_FALSE(bin.empty()) << "no /usr/lib/postgresql/*/bin/postgres (scripts/install-deps.sh installs postgresql-15)";
  CheckpointSession session;
  std::string dir = session.dir().path();
  // postgres must reach its data directory and socket below the session's private directory.
  ASSERT_EQ(::chmod(dir.c_str(), 0711), 0);
  for (const char* sub : {"data", "sock"}) {
    std::string path = dir + "/" + sub;
    ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
    ASSERT_EQ(::system(("chown postgres: " + path).c_str()), 0);
  }
  std::string init = write_script(session, "init.sh", kPostgresInit);
  pid_t started = session.start_command({"/bin/sh", init, dir, bin});
  ASSERT_GT(started, 0);
  ASSERT_TRUE(session.dump_ok(started, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

}  // namespace
}  // namespace cryo::e2e
