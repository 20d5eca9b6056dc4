// Programs nobody wrote for cryo, from Debian's packages, go through dump and restore and keep their
// state: each holds state in memory, prints READY, and on SIGUSR1 checks and prints it, then PASS.
// The scripts live in the session's directory, so every process of the test is found by its path.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>

#include "e2e/checkpoint_harness.h"
#include "e2e/program_scripts.h"

namespace cryo::e2e {
namespace {

// The value a script prints on `pattern`'s line ("before: n=12" with "before: n=(\\d+)"), or -1.
long counter_in(const std::string& log, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(log, m, std::regex(pattern))) return -1;
  return std::stol(m[1]);
}

// For scripts that count in a loop: SIGUSR2 makes them print "before: n=N" and go on. The counter
// is read that way just before the dump, and after the restore it must have gone on from there
// (a restore that lost the script's memory, or started it again, shows a smaller number).
void expect_counter_goes_on(CheckpointSession& session, const std::vector<std::string>& argv) {
  pid_t init = session.start_command(argv, {"--uptime", "3d"});
  ASSERT_GT(init, 0);
  usleep(300 * 1000);
  ASSERT_EQ(::kill(init, SIGUSR2), 0);
  long before = -1;
  for (int i = 0; i < 100 && before < 0; ++i, usleep(50 * 1000)) before = counter_in(slurp(session.log_path()), "before: n=(\\d+)");
  ASSERT_GE(before, 1) << "the script never counted; log:\n" << slurp(session.log_path());
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  usleep(200 * 1000);
  session.expect_pass_after_check(restored);
  std::string log = slurp(session.log_path());
  long after = counter_in(log, "after: n=(\\d+)");
  EXPECT_GT(after, before) << "the counter did not go on from its value before the dump; log:\n" << log;
}


TEST(CheckpointPrograms, Python3KeepsItsObjectsAndLoop) {
  CheckpointSession session;
  expect_program_survives(session, {"/usr/bin/python3", write_script(session, "state.py", kPython)});
}

constexpr const char* kPythonThreads = R"(
import os, signal, threading, time
lock = threading.Lock()
counts = [0, 0, 0]
stop = threading.Event()
def work(i):
    while not stop.is_set():
        with lock:
            counts[i] += 1
        time.sleep(0.005)
threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
for t in threads: t.start()
checked = threading.Event()
def check(signo, frame):
    checked.set()
signal.signal(signal.SIGUSR1, check)
print("READY", flush=True)
while not checked.wait(0.05):
    pass
with lock:
    before = list(counts)
time.sleep(0.2)
stop.set()
for t in threads: t.join(5)
problems = ["thread %d did not run on after the restore" % i for i in range(3) if counts[i] <= before[i]]
problems += ["a thread did not stop" for t in threads if t.is_alive()]
for p in problems: print("FAIL: " + p, flush=True)
print("counts=%s" % counts, flush=True)
if not problems: print("PASS", flush=True)
os._exit(1 if problems else 0)
)";

TEST(CheckpointPrograms, Python3ThreadsRunOnAndJoin) {
  CheckpointSession session;
  expect_program_survives(session, {"/usr/bin/python3", write_script(session, "threads.py", kPythonThreads)});
}

// multiprocessing: forked workers sharing a lock and a counter through a deleted file of /dev/shm
// that shm_open opened with O_NOFOLLOW, and a queue over pipes; the workers must be the same
// processes afterwards and go on counting under the same lock.
constexpr const char* kPythonMultiprocessing = R"py(
import multiprocessing as mp, os, signal, time
def work(lock, counter, queue):
    queue.put(os.getpid())
    while True:
        with lock:
            counter.value += 1
        time.sleep(0.005)
if __name__ == "__main__":
    mp.set_start_method("fork")
    lock, counter, queue = mp.Lock(), mp.Value("i", 0), mp.Queue()
    workers = [mp.Process(target=work, args=(lock, counter, queue)) for _ in range(3)]
    for w in workers: w.start()
    pids = sorted(queue.get(timeout=10) for _ in workers)
    checked = []
    signal.signal(signal.SIGUSR1, lambda signo, frame: checked.append(1))
    print("READY", flush=True)
    while not checked:
        time.sleep(0.05)
    with lock:
        before = counter.value
    time.sleep(0.3)
    with lock:
        after = counter.value
    problems = []
    if after <= before: problems.append("the workers did not count on (%d, then %d)" % (before, after))
    if sorted(w.pid for w in workers) != pids: problems.append("the workers are other processes")
    if not all(w.is_alive() for w in workers): problems.append("a worker died")
    for w in workers: w.kill()
    for p in problems: print("FAIL: " + p, flush=True)
    if not problems: print("PASS", flush=True)
    os._exit(1 if problems else 0)
)py";

TEST(CheckpointPrograms, Python3MultiprocessingWorkersShareTheirLockAndCounter) {
  CheckpointSession session;
  expect_program_survives(session, {"/usr/bin/python3", write_script(session, "workers.py", kPythonMultiprocessing)});
}

TEST(CheckpointPrograms, BashKeepsItsVariablesAndForksOn) {
  CheckpointSession session;
  expect_counter_goes_on(session, {"/bin/bash", write_script(session, "loop.sh", kBash)});
  std::string log = slurp(session.log_path());
  std::smatch before, after;
  ASSERT_TRUE(std::regex_search(log, before, std::regex("^secret=(\\d+)$", std::regex::multiline))) << log;
  ASSERT_TRUE(std::regex_search(log, after, std::regex("after: secret=(\\d+)"))) << log;
  EXPECT_EQ(before[1], after[1]) << "bash's variable changed across the restore; log:\n" << log;
}

constexpr const char* kPerl = R"(
$| = 1;
my $n = 0;
my %table = map { $_ => $_ * $_ } 1 .. 20000;
my $sum = 0; $sum += $_ for values %table;
$SIG{USR1} = sub {
  my @problems;
  my $again = 0; $again += $_ for values %table;
  push @problems, "its hash changed" if $again != $sum;
  push @problems, "pid is $$" if $$ != 1;
  push @problems, "the loop never ran" if $n < 1;
  print "FAIL: $_\n" for @problems;
  print "n=$n\n";
  print "PASS\n" unless @problems;
  exit(@problems ? 1 : 0);
};
print "READY\n";
while (1) { $n++; select(undef, undef, undef, 0.01); }
)";

TEST(CheckpointPrograms, PerlKeepsItsHashAndLoop) {
  CheckpointSession session;
  expect_program_survives(session, {"/usr/bin/perl", write_script(session, "state.pl", kPerl)});
}

// A server from the standard library: it listens on a port, keeps a counter in memory, and after the
// restore answers on the same port (its check fetches a page from itself, in a thread, while the
// main thread serves).
constexpr const char* kPythonServer = R"(
import http.server, os, signal, threading, urllib.request
hits = {"count": 0}
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        hits["count"] += 1
        body = ("hits=%d secret=cryo-%d" % (hits["count"], os.getpid())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
port = server.server_address[1]
def fetch():
    return urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=10).read().decode()
def check():
    problems = []
    try:
        page = fetch()
        if page != "hits=%d secret=cryo-1" % hits["count"]: problems.append("the server answered '%s'" % page)
        if hits["count"] < 3: problems.append("only %d requests were counted" % hits["count"])
    except Exception as error:
        problems.append("fetching from the restored server failed: %r" % error)
    for p in problems: print("FAIL: " + p, flush=True)
    print("served %d requests" % hits["count"], flush=True)
    if not problems: print("PASS", flush=True)
    os._exit(1 if problems else 0)
signal.signal(signal.SIGUSR1, lambda signo, frame: threading.Thread(target=check).start())
# Two requests before the checkpoint, so the counter holds state worth keeping.
threading.Thread(target=lambda: (fetch(), fetch(), print("READY port=%d" % port, flush=True))).start()
server.serve_forever(poll_interval=0.05)
)";

TEST(CheckpointPrograms, Python3HttpServerKeepsItsPortAndCounter) {
  CheckpointSession session;
  expect_program_survives(session, {"/usr/bin/python3", write_script(session, "server.py", kPythonServer)});
}

// A daemon with a unix control socket: python's socketserver.ThreadingUnixStreamServer at a path,
// with a client of the tree's own that keeps its connection open across the dump. After restore a
// client outside the tree (this test) connects at the path and is answered with the count going on,
// and the kept connection answers next.
constexpr const char* kPythonUnixServer = R"(
import os, signal, socket, socketserver, sys, threading
path = sys.argv[1]
hits = {"count": 0}
class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            hits["count"] += 1
            self.wfile.write(b"hits=%d\n" % hits["count"])
            self.wfile.flush()
server = socketserver.ThreadingUnixStreamServer(path, Handler)
client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
client.connect(path)
answers = client.makefile("rb")
def ask():
    client.sendall(b"hit\n")
    return answers.readline().decode().strip()
def check():
    problems = []
    try:
        answer = ask()
        if answer != "hits=4": problems.append("the kept connection was answered '%s'" % answer)
    except Exception as error:
        problems.append("asking over the kept connection failed: %r" % error)
    for p in problems: print("FAIL: " + p, flush=True)
    if not problems: print("PASS", flush=True)
    os._exit(1 if problems else 0)
signal.signal(signal.SIGUSR1, lambda signo, frame: threading.Thread(target=check).start())
threading.Thread(target=lambda: (ask(), ask(), print("READY", flush=True))).start()
server.serve_forever(poll_interval=0.05)
)";

// One request on a new connection to the control socket at `path`: its answer line, or the error.
std::string ask_unix_socket(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "socket: " + std::string(strerror(errno));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    answer = "connect: " + std::string(strerror(errno));
  } else if (::write(fd, "hit\n", 4) != 4) {
    answer = "write: " + std::string(strerror(errno));
  } else {
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n') answer += c;
  }
  ::close(fd);
  return answer;
}

TEST(CheckpointPrograms, Python3UnixControlSocketAnswersAtItsPathAndOnItsKeptConnection) {
  CheckpointSession session;
  std::string socket_path = session.dir() / "control.sock";
  pid_t init = session.start_command({"/usr/bin/python3", write_script(session, "unix_server.py", kPythonUnixServer), socket_path});
  ASSERT_GT(init, 0);
  usleep(300 * 1000);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  EXPECT_NE(ask_unix_socket(socket_path), "hits=3") << "the dumped server still answers";
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  EXPECT_EQ(ask_unix_socket(socket_path), "hits=3") << "log:\n" << slurp(session.log_path());
  session.expect_pass_after_check(restored);
}

// The JDK: java.nio (which keeps a socketpair end whose peer it closed at start-up), a file written
// with java.nio.file, and com.sun.net.httpserver on a port, run by the source launcher. The check
// runs on SIGUSR1 (sun.misc.Signal) and fetches a page from the restored server itself.
constexpr const char* kJavaServer = R"(
import com.sun.net.httpserver.HttpServer;
import java.net.*;
import java.nio.file.*;
import java.util.concurrent.atomic.AtomicInteger;
public class Server {
  static final AtomicInteger hits = new AtomicInteger();
  static int port;
  static String fetch() throws Exception {
    HttpURLConnection c = (HttpURLConnection) new URL("http://127.0.0.1:" + port + "/").openConnection();
    c.setConnectTimeout(10000);
    c.setReadTimeout(10000);
    return new String(c.getInputStream().readAllBytes());
  }
  public static void main(String[] args) throws Exception {
    // No connection kept alive: an established TCP connection cannot be dumped (yet).
    System.setProperty("http.keepAlive", "false");
    Path state = Paths.get(args[0]);
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", x -> {
      byte[] body = ("hits=" + hits.incrementAndGet()).getBytes();
      x.sendResponseHeaders(200, body.length);
      x.getResponseBody().write(body);
      x.close();
    });
    server.start();
    port = server.getAddress().getPort();
    sun.misc.Signal.handle(new sun.misc.Signal("USR1"), signal -> new Thread(() -> {
      int problems = 0;
      try {
        String page = fetch();
        if (!page.equals("hits=3")) { System.out.println("FAIL: the server answered '" + page + "'"); problems++; }
        String written = Files.readString(state);
        if (!written.equals("hits before the dump: 2")) { System.out.println("FAIL: the state file reads '" + written + "'"); problems++; }
      } catch (Exception e) {
        System.out.println("FAIL: " + e);
        problems++;
      }
      if (problems == 0) System.out.println("PASS");
      System.out.flush();
      Runtime.getRuntime().halt(problems == 0 ? 0 : 1);
    }).start());
    fetch();
    fetch();
    Files.writeString(state, "hits before the dump: " + hits.get());
    System.out.println("READY port=" + port);
    System.out.flush();
    Thread.currentThread().join();
  }
}
)";

TEST(CheckpointPrograms, JavaNioHttpServerKeepsItsPortAndCounter) {
  CheckpointSession session;
  expect_program_survives(session, {"/usr/bin/java", "-Xmx64m", "-XX:+UseSerialGC", write_script(session, "Server.java", kJavaServer),
                                    session.dir() / "state.txt"});
}

// nginx as Debian ships it (nginx-light): a master as root and workers that dropped to www-data,
// on a listening TCP socket. A sh init runs it and checks it with a Python client from inside the
// tree: the same master and workers (PIDs, users) answer afterwards, and stub_status's counter of
// accepted connections goes on from where it was (exactly one more: the check's own).
constexpr const char* kNginxConf = R"(user www-data;
worker_processes 2;
pid DIR/nginx.pid;
error_log DIR/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path DIR/body;
  server { listen 127.0.0.1:PORT; location /status { stub_status; } }
}
)";

constexpr const char* kNginxProbe = R"py(
import os, pwd, sys, time, urllib.request
port, state, master = sys.argv[1], sys.argv[2], sys.argv[4] if len(sys.argv) > 4 else ""
def accepts():
    text = urllib.request.urlopen("http://127.0.0.1:%s/status" % port, timeout=5).read().decode()
    return int(text.split("\n")[2].split()[0])
def workers(master):
    with open("/proc/%s/task/%s/children" % (master, master)) as f:
        pids = sorted(int(p) for p in f.read().split())
    return [(p, pwd.getpwuid(os.stat("/proc/%d" % p).st_uid).pw_name) for p in pids]
if sys.argv[3] == "wait":
    for _ in range(200):
        try:
            n = accepts(); break
        except OSError:
            time.sleep(0.05)
    else:
        print("FAIL: nginx never answered", flush=True); sys.exit(1)
    with open(state, "w") as f: f.write("%d %r" % (n, workers(master)))
    sys.exit(0)
n, before = open(state).read().split(" ", 1)
now, after = accepts(), repr(workers(master))
problems = []
if now != int(n) + 1: problems.append("stub_status accepts is %d, was %s before the dump" % (now, n))
if after != before: problems.append("the workers are %s, were %s" % (after, before))
if "www-data" not in after: problems.append("no worker runs as www-data: %s" % after)
for p in problems: print("FAIL: " + p, flush=True)
sys.exit(1 if problems else 0)
)py";

constexpr const char* kNginxInit = R"(
nginx -c "$1/nginx.conf" -g 'daemon off;' &
master=$!
python3 "$1/probe.py" "$2" "$1/state" wait "$master" || exit 1
echo READY
trap 'if python3 "$1/probe.py" "$2" "$1/state" check "$master"; then echo PASS; fi; kill -QUIT "$master"; wait "$master"; exit 0' USR1
while :; do sleep 0.1; done
)";

TEST(CheckpointPrograms, NginxWorkersAsWwwDataServeOnWithTheirCounters) {
  if (::access("/usr/sbin/nginx", X_OK) != 0) GTEST_SKIP() << "nginx is not installed (scripts/install-deps.sh installs nginx-light)";
  CheckpointSession session;
  std::string dir = session.dir().path();
  std::string port = std::to_string(20000 + ::getpid() % 20000);
  std::string conf = std::regex_replace(std::regex_replace(kNginxConf, std::regex("DIR"), dir), std::regex("PORT"), port);
  write_script(session, "nginx.conf", conf);
  write_script(session, "probe.py", kNginxProbe);
  std::string init = write_script(session, "init.sh", kNginxInit);
  pid_t started = session.start_command({"/bin/sh", init, dir, port});
  ASSERT_GT(started, 0);
  ASSERT_TRUE(session.dump_ok(started, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

// dash (/bin/sh), with a pipeline whose two ends are both in the tree.
constexpr const char* kSh = R"(
count=0
echo READY
trap 'echo "after: n=$count"; echo PASS; exit 0' USR1
trap 'echo "before: n=$count"' USR2
while :; do
  count=$((count + 1))
  echo tick | cat > /dev/null
  sleep 0.05
done
)";

TEST(CheckpointPrograms, DashLoopWithPipelinesRunsOn) {
  CheckpointSession session;
  expect_counter_goes_on(session, {"/bin/sh", write_script(session, "loop.sh", kSh)});
}

// Linux names are bytes, not text: a python3 process whose cwd, open file, file mapping and thread
// name are not UTF-8 (stress-ng --filename makes such names; an image with one could not be read).
// After the restore each still names the same bytes and the file reads the same.
constexpr const char* kNonUtf8Python = R"(
import ctypes, mmap, os, signal, sys, time
base = os.fsencode(sys.argv[1])
folder = base + b"/\xff\xfe-dir"
os.mkdir(folder)
os.chdir(folder)
path = folder + b"/caf\xe9 \x80.txt"
with open(path, "wb") as f:
    f.write(b"kept" * 1024)
fd = os.open(path, os.O_RDONLY)
view = mmap.mmap(fd, 4096, prot=mmap.PROT_READ)
ctypes.CDLL(None).prctl(15, b"\xffname\xe9", 0, 0, 0)  # PR_SET_NAME
def check(signo, frame):
    problems = []
    if os.getcwdb() != folder: problems.append("cwd is %r" % os.getcwdb())
    if os.readlink(b"/proc/self/fd/%d" % fd) != path: problems.append("fd names %r" % os.readlink(b"/proc/self/fd/%d" % fd))
    if os.pread(fd, 8, 0) != b"keptkept" or view[:4] != b"kept": problems.append("contents changed")
    with open("/proc/self/comm", "rb") as c: comm = c.read().strip()
    if comm != b"\xffname\xe9": problems.append("comm is %r" % comm)
    print("FAIL: " + "; ".join(problems) if problems else "PASS", flush=True)
    sys.exit(0)
signal.signal(signal.SIGUSR1, check)
print("READY", flush=True)
while True:
    time.sleep(0.05)
)";

TEST(CheckpointPrograms, NamesThatAreNotUtf8SurviveAsTheirBytes) {
  CheckpointSession session;
  expect_program_survives(session, {"/usr/bin/python3", write_script(session, "names.py", kNonUtf8Python), session.dir().path()});
}

// stress-ng (Debian's package), a dozen stressors with --verify in one tree, each a child forked
// from a parent that mlocked part of its own text: timers, timerfds, eventfds, pipes, FIFOs, queued
// signals, futexes, SysV IPC and memfds in use at the dump. They run on and finish, and stress-ng's
// own checks of its results find nothing wrong. Not --mq: its receiver waits with a CLOCK_REALTIME
// deadline one second ahead, which no kernel shifts, so a dump and restore longer than a second
// (a loaded CI machine) make it fail with ETIMEDOUT as a suspended machine would.
constexpr const char* kStressNgInit = R"(
stress-ng --cpu 1 --timerfd 1 --eventfd 1 --pipe 1 --fifo 1 --sigq 1 --futex 1 --sem-sysv 1 \
  --timer 1 --itimer 1 --memfd 1 --verify -t 5 --temp-path "$1" --log-file "$1/stress.log" >/dev/null 2>&1 &
stress=$!
sleep 2
echo READY
trap 'wait "$stress"; status=$?
  if [ "$status" -eq 0 ] && grep -q "successful run completed" "$1/stress.log" && ! grep -qiE "fail|error" "$1/stress.log"; then
    echo PASS
  else
    echo "FAIL: stress-ng exited with $status:"; cat "$1/stress.log"
  fi; exit 0' USR1
while :; do sleep 0.1; done
)";

TEST(CheckpointPrograms, StressNgStressorsFinishWithTheirOwnChecksPassing) {
  if (::access("/usr/bin/stress-ng", X_OK) != 0) GTEST_SKIP() << "stress-ng is not installed (scripts/install-deps.sh installs it)";
  CheckpointSession session;
  expect_program_survives(session, {"/bin/sh", write_script(session, "init.sh", kStressNgInit), session.dir().path()});
}

// Erlang's BEAM (Debian's erlang-base): its schedulers, timer wheel and ETS table. An Erlang
// process counts every 10 ms; another asks it every 100 ms and checks that the count went on and
// the sum over a 100,000-entry ETS table is unchanged, printing "tick" or FAIL. After the restore
// the VM ticks on and finds nothing changed.
constexpr const char* kErlangTicker = R"(
T = ets:new(tab, [set, public]),
[ets:insert(T, {I, I * I}) || I <- lists:seq(1, 100000)],
Sum = fun() -> ets:foldl(fun({_, V}, A) -> A + V end, 0, T) end,
S0 = Sum(),
Count = fun Loop(N) -> receive {get, From} -> From ! {n, N}, Loop(N) after 10 -> Loop(N + 1) end end,
P = spawn(fun() -> Count(0) end),
Tick = fun Tick(Prev) ->
  timer:sleep(100),
  P ! {get, self()},
  N = receive {n, Got} -> Got end,
  case {Sum() =:= S0, N > Prev} of
    {true, true} -> io:format("tick n=~p~n", [N]);
    Bad -> io:format("FAIL: ~p n=~p prev=~p~n", [Bad, N, Prev])
  end,
  Tick(N)
end,
Tick(-1).
)";

constexpr const char* kErlangInit = R"sh(
erl -noshell -eval "$(cat "$1/ticker.erl")" > "$1/erl.log" 2>&1 &
erl=$!
until grep -q tick "$1/erl.log" 2>/dev/null; do sleep 0.1; done
echo READY
trap 'before=$(grep -c tick "$1/erl.log"); sleep 1; after=$(grep -c tick "$1/erl.log")
  if [ "$after" -gt "$before" ] && ! grep -q FAIL "$1/erl.log"; then echo PASS; else echo "FAIL: erlang stopped ticking or found its state changed:"; tail -5 "$1/erl.log"; fi
  kill "$erl"; exit 0' USR1
while :; do sleep 0.1; done
)sh";

TEST(CheckpointPrograms, ErlangVmTicksOnWithItsEtsTable) {
  if (::access("/usr/bin/erl", X_OK) != 0) GTEST_SKIP() << "erlang is not installed (scripts/install-deps.sh installs erlang-base)";
  CheckpointSession session;
  write_script(session, "ticker.erl", kErlangTicker);
  expect_program_survives(session, {"/bin/sh", write_script(session, "init.sh", kErlangInit), session.dir().path()});
}

}  // namespace
}  // namespace cryo::e2e
