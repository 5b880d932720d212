#pragma once
// Child processes of this binary (`/proc/self/exe ...`) for benchmarks that need real node
// processes: start with output in a log, wait for a line, stop them all (SIGTERM, then
// SIGKILL), never outlive the parent (PDEATHSIG). Also free loopback ports and /proc figures.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace llamps {

[[noreturn]] inline void throw_error(const std::string& what) { throw std::runtime_error(what); }

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw_error("cannot open a socket to find a free port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw_error("cannot bind a loopback port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// VmRSS / VmHWM of a process, bytes (0 when unreadable).
inline uint64_t proc_status_kb(pid_t pid, const char* key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0)
      return std::strtoull(line.c_str() + std::strlen(key) + 1, nullptr, 10) * 1024;
  return 0;
}

// The child processes of one run. Killed (SIGTERM, then SIGKILL) when this goes away.
class process_group {
public:
  explicit process_group(std::string work) : work_(std::move(work)) {}
  process_group(const process_group&) = delete;
  ~process_group() { stop_all(); }

  // Starts `/proc/self/exe args...` with its output in WORK/name.log; returns the pid.
  pid_t start(const std::string& name, const std::vector<std::string>& args) {
    std::string log = work_ + "/" + name + ".log";
    std::vector<std::string> argv{"llamps"};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0)
      throw_error("fork failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL); // never outlive the benchmark
      if (::getppid() != parent)
        ::_exit(1);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
      }
      // The signals the parent may have blocked must not stay blocked in the node.
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      std::vector<char*> cargv;
      for (auto& a : argv)
        cargv.push_back(const_cast<char*>(a.c_str()));
      cargv.push_back(nullptr);
      ::execv("/proc/self/exe", cargv.data());
      ::_exit(127);
    }
    procs_.push_back({name, pid, log});
    return pid;
  }

  // Waits until the log of `name` contains `line`; fails with the log when the process
  // exits or the time runs out.
  void wait_for(const std::string& name, const std::string& line, double seconds) {
    const proc* p = find(name);
    auto t0 = std::chrono::steady_clock::now();
    while (seconds_since(t0) < seconds) {
      if (read_text(p->log).find(line) != std::string::npos)
        return;
      int status = 0;
      if (::waitpid(p->pid, &status, WNOHANG) == p->pid) {
        dead(p->pid);
        if (read_text(p->log).find(line) != std::string::npos)
          return;
        throw_error(name + " exited before '" + line + "':\n" + read_text(p->log));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw_error("timed out after " + std::to_string(int(seconds)) + " s waiting for '" + line + "' from " +
                name + ":\n" + read_text(p->log));
  }

  pid_t pid_of(const std::string& name) const {
    const proc* p = find(name);
    return p ? p->pid : -1;
  }

  void stop_all() {
    for (auto& p : procs_)
      if (p.pid > 0)
        ::kill(p.pid, SIGTERM);
    auto t0 = std::chrono::steady_clock::now();
    for (auto& p : procs_) {
      while (p.pid > 0) {
        int status = 0;
        pid_t r = ::waitpid(p.pid, &status, WNOHANG);
        if (r == p.pid || r < 0) {
          p.pid = -1;
          break;
        }
        if (seconds_since(t0) > 3) {
          ::kill(p.pid, SIGKILL);
          ::waitpid(p.pid, &status, 0);
          p.pid = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    procs_.clear();
  }

private:
  struct proc {
    std::string name;
    pid_t pid;
    std::string log;
  };
  const proc* find(const std::string& name) const {
    for (auto& p : procs_)
      if (p.name == name)
        return &p;
    throw_error("internal: no process " + name);
  }
  void dead(pid_t pid) {
    for (auto& p : procs_)
      if (p.pid == pid)
        p.pid = -1;
  }
  std::string work_;
  std::vector<proc> procs_;
};

} // namespace llamps
