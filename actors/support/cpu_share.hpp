#pragma once
// The owner's CPU first: how a contributor's compute threads yield to the machine's own work,
// and how much of the CPU that work takes. Linux; elsewhere the calls do nothing and the
// owner's demand reads as zero. No CAF, no torch.
#include <cstdint>
#include <string>

namespace llamps {

// idle: SCHED_IDLE (runs only on cores nothing else wants; nice 19 where refused); low: nice
// 10; normal: as the node's other threads.
enum class cpu_priority : uint8_t { idle, low, normal };
const char* cpu_priority_name(cpu_priority p);
cpu_priority parse_cpu_priority(const std::string& name); // throws std::invalid_argument

// Gives the calling thread the priority and, for cores > 0, pins it to `cores` of the CPUs it
// may run on (the last ones, away from CPU 0 where interrupts and the owner's shells tend to
// land). Threads it creates afterwards inherit both. Returns what was done, for the log.
std::string place_compute_thread(cpu_priority p, int cores);

// CPU seconds since boot of the whole machine (every core) and of this process.
struct cpu_times {
  double busy_seconds = 0; // all cores, not idle nor waiting for I/O
  double own_seconds = 0;  // this process: user + system
  double wall_seconds = 0; // steady clock
};
cpu_times read_cpu_times();

// Cores the machine's other work kept busy between two readings: its busy time minus this
// process's, over the wall time between them.
double owner_cores(const cpu_times& before, const cpu_times& after);

// The cores the owner's work leaves free, rounded down (a core counts as taken once the owner
// uses most of it); 0 when it takes them all.
int32_t free_cores(int32_t machine_cores, double owner_busy_cores);

// The cores a contributor may use now: its share (0 = every core) less what the owner's
// work keeps busy, rounded down; at least one, on which its hosts still compute at their low
// priority when the owner leaves a cycle.
int32_t cores_left(int32_t share, int32_t machine_cores, double owner_busy_cores);

} // namespace llamps
