#pragma once
// The threads a matrix product is split over. A decode step runs ~150 products of a few
// hundred microseconds each; OpenMP's team sleeps between them and takes tens of
// microseconds to wake on a virtual machine, so the products keep their own workers, which
// spin briefly for the next product before they sleep. Torch-free.
#include <cstdint>
#include <functional>

namespace llamps::quant {

// Runs job(part, parts) for part = 0..parts-1, part 0 on the calling thread, the others on
// the team's workers; returns when all are done. parts is at most the team's size (its
// workers + 1). When another thread is using the team (two block hosts of one process), the
// job runs whole on the calling thread instead: the cores are busy anyway.
void run_parts(int parts, const std::function<void(int part, int parts)>& job);

// Runs fn(begin, end) over [0, n) in contiguous ranges of at least `grain` items, on as many
// of the team's threads as that gives (as at::parallel_for, on this team).
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end)>& fn);

// Runs fn(begin, end) over [0, n) in chunks of `chunk` items, each thread of the team taking
// the next chunk when it is done with its last: a thread that starts late or is slowed (a
// busy core, a virtual machine's neighbour) does less, instead of the others waiting for it.
void parallel_chunks(int64_t n, int64_t chunk, const std::function<void(int64_t begin, int64_t end)>& fn);

// The team's size: the calling thread plus its workers (set_threads in matrix.hpp).
void set_team_size(int threads);
int team_size();

} // namespace llamps::quant
