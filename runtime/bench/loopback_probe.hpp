#pragma once
// The machine's own floor for one hop: a message of the same size over loopback TCP to
// another process that has been idle as long as a block host is between two steps, and
// straight back. bench-cluster reports our per-hop cost next to it, as a ratio.
#include <chrono>
#include <cstddef>

namespace llamps {

struct loopback_figures {
  double one_way_us = 0; // median round trip / 2
  int rounds = 0;
};

// `bytes` each way, `idle` between rounds (both processes block meanwhile), `rounds` timed
// after a few warm-up rounds. Throws std::runtime_error when a socket call fails.
loopback_figures probe_loopback(size_t bytes, std::chrono::microseconds idle, int rounds);

} // namespace llamps
