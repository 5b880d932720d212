#include "runtime/bench/loopback_probe.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace llamps {

namespace {

using clock_type = std::chrono::steady_clock;

bool send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0)
      return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

bool recv_all(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t k = ::recv(fd, p, n, 0);
    if (k <= 0)
      return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

void no_delay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// The echoing process: only system calls after fork (the parent has threads).
[[noreturn]] void echo(int listener, size_t bytes) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  int fd = ::accept(listener, nullptr, nullptr);
  if (fd < 0)
    ::_exit(1);
  no_delay(fd);
  static char buffer[1 << 20];
  const size_t n = std::min(bytes, sizeof buffer);
  while (recv_all(fd, buffer, n) && send_all(fd, buffer, n)) {
  }
  ::_exit(0);
}

} // namespace

loopback_figures probe_loopback(size_t bytes, std::chrono::microseconds idle, int rounds) {
  bytes = std::min<size_t>(std::max<size_t>(bytes, 1), 1 << 20);
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("loopback probe: cannot listen on 127.0.0.1");
  pid_t child = ::fork();
  if (child < 0)
    throw std::runtime_error("loopback probe: fork failed");
  if (child == 0)
    echo(listener, bytes);
  ::close(listener);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  std::vector<double> rtt;
  bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (ok) {
    no_delay(fd);
    std::vector<char> out(bytes, 'x'), in(bytes);
    const int warmup = 3;
    for (int i = 0; ok && i < rounds + warmup; ++i) {
      std::this_thread::sleep_for(idle);
      auto t0 = clock_type::now();
      ok = send_all(fd, out.data(), bytes) && recv_all(fd, in.data(), bytes);
      if (i >= warmup)
        rtt.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    }
  }
  if (fd >= 0)
    ::close(fd);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  if (!ok || rtt.empty())
    throw std::runtime_error("loopback probe: the echo process did not answer");
  std::sort(rtt.begin(), rtt.end());
  return loopback_figures{rtt[rtt.size() / 2] / 2, static_cast<int>(rtt.size())};
}

} // namespace llamps
