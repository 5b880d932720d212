#include "actors/support/cpu_share.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#ifdef __linux__
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>
#endif

namespace llamps {

const char* cpu_priority_name(cpu_priority p) {
  switch (p) {
  case cpu_priority::idle: return "idle";
  case cpu_priority::low: return "low";
  default: return "normal";
  }
}

cpu_priority parse_cpu_priority(const std::string& name) {
  for (cpu_priority p : {cpu_priority::idle, cpu_priority::low, cpu_priority::normal})
    if (name == cpu_priority_name(p))
      return p;
  throw std::invalid_argument("cpu-priority must be idle, low or normal, not '" + name + "'");
}

std::string place_compute_thread(cpu_priority p, int cores) {
  std::string done;
#ifdef __linux__
  // A thread may always lower its own priority; these calls act on the calling thread only.
  if (p == cpu_priority::idle) {
    sched_param none{};
    if (sched_setscheduler(0, SCHED_IDLE, &none) == 0)
      done = "SCHED_IDLE";
    else if (setpriority(PRIO_PROCESS, 0, 19) == 0)
      done = "nice 19";
  } else if (p == cpu_priority::low && setpriority(PRIO_PROCESS, 0, 10) == 0) {
    done = "nice 10";
  }
  cpu_set_t allowed;
  if (cores > 0 && sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_COUNT(&allowed) > cores) {
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &allowed))
        cpus.push_back(c);
    cpu_set_t pinned;
    CPU_ZERO(&pinned);
    for (size_t i = cpus.size() - size_t(cores); i < cpus.size(); ++i)
      CPU_SET(cpus[i], &pinned);
    if (sched_setaffinity(0, sizeof pinned, &pinned) == 0)
      done += (done.empty() ? "" : ", ") + std::string("CPUs ") +
              std::to_string(cpus[cpus.size() - size_t(cores)]) + "-" + std::to_string(cpus.back());
  }
#endif
  return done.empty() ? "normal priority, any CPU" : done;
}

cpu_times read_cpu_times() {
  cpu_times t;
  t.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
#ifdef __linux__
  const double tick = double(sysconf(_SC_CLK_TCK));
  // /proc/stat's first line: "cpu user nice system idle iowait irq softirq steal ...", in ticks.
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double v[8] = {};
  stat >> cpu;
  for (double& x : v)
    stat >> x;
  t.busy_seconds = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / tick;
  // /proc/self/stat: fields 14 and 15 are utime and stime; field 2 (the name, in
  // parentheses) may hold spaces, so count from its closing parenthesis.
  std::ifstream self("/proc/self/stat");
  std::string line;
  std::getline(self, line);
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14)
      utime = std::stod(field);
    if (i == 15)
      stime = std::stod(field);
  }
  t.own_seconds = (utime + stime) / tick;
#endif
  return t;
}

double owner_cores(const cpu_times& before, const cpu_times& after) {
  const double wall = after.wall_seconds - before.wall_seconds;
  if (wall <= 0)
    return 0;
  const double others = (after.busy_seconds - before.busy_seconds) - (after.own_seconds - before.own_seconds);
  return std::max(0.0, others / wall);
}

int32_t free_cores(int32_t machine_cores, double owner_busy_cores) {
  // 0.25 of slack absorbs the noise of a 1-second reading and the owner's short bursts.
  return std::max(0, int32_t(std::floor(double(machine_cores) - owner_busy_cores + 0.25)));
}

int32_t cores_left(int32_t share, int32_t machine_cores, double owner_busy_cores) {
  const int32_t offered = share > 0 ? std::min(share, machine_cores) : machine_cores;
  return std::max(1, std::min(offered, free_cores(machine_cores, owner_busy_cores)));
}

} // namespace llamps
