// A small spinning thread team for the matrix products (thread_team.hpp says why).
#include "model/quant/thread_team.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace llamps::quant {

namespace {

// How long an idle worker spins for the next job before it sleeps: longer than the gap
// between two products of a decode step, far shorter than the gap between two tokens of an
// idle node (whose owner gets the core back).
constexpr std::chrono::microseconds spin_time{200};

void pause() {
#if defined(__x86_64__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

class team {
public:
  ~team() {
    {
      std::lock_guard<std::mutex> lock(sleep_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_)
      t.join();
  }

  void set_size(int n) { size_ = std::max(1, n); }
  int size() const { return size_; }

  void run(int parts, const std::function<void(int, int)>& job) {
    parts = std::min(parts, size_.load());
    std::unique_lock<std::mutex> mine(busy_, std::try_to_lock);
    if (parts <= 1 || !mine.owns_lock()) {
      job(0, 1);
      return;
    }
    while (int(workers_.size()) < parts - 1) {
      const int index = int(workers_.size()) + 1;
      const uint64_t seen = generation_.load(); // the job below is the worker's first
      workers_.emplace_back([this, index, seen] { work(index, seen); });
    }
    job_ = &job;
    parts_ = parts;
    remaining_ = parts - 1;
    generation_.fetch_add(1);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(sleep_);
      wake_.notify_all();
    }
    job(0, parts);
    while (remaining_.load() > 0)
      pause();
  }

private:
  void work(int index, uint64_t seen) {
    for (;;) {
      const auto start = std::chrono::steady_clock::now();
      for (int spins = 0; generation_.load() == seen; ++spins) {
        if (stop_)
          return;
        if ((spins & 255) == 255 && std::chrono::steady_clock::now() - start > spin_time) {
          std::unique_lock<std::mutex> lock(sleep_);
          ++sleepers_;
          wake_.wait(lock, [&] { return generation_.load() != seen || stop_; });
          --sleepers_;
          if (stop_)
            return;
        }
        pause();
      }
      seen = generation_.load();
      if (index < parts_) {
        (*job_)(index, parts_);
        remaining_.fetch_sub(1);
      }
    }
  }

  std::atomic<int> size_{1};
  std::mutex busy_; // one job at a time
  std::vector<std::thread> workers_;
  const std::function<void(int, int)>* job_ = nullptr;
  int parts_ = 0;
  std::atomic<int> remaining_{0};
  std::atomic<uint64_t> generation_{0};
  std::mutex sleep_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
};

team& the_team() {
  static team t;
  return t;
}

} // namespace

void run_parts(int parts, const std::function<void(int, int)>& job) { the_team().run(parts, job); }
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0)
    return;
  const int64_t parts = std::min<int64_t>(team_size(), std::max<int64_t>(1, n / std::max<int64_t>(1, grain)));
  if (parts <= 1) {
    fn(0, n);
    return;
  }
  run_parts(int(parts), [&](int part, int count) { fn(n * part / count, n * (part + 1) / count); });
}

void parallel_chunks(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t chunks = (n + chunk - 1) / chunk;
  std::atomic<int64_t> next{0};
  run_parts(int(std::min<int64_t>(team_size(), chunks)), [&](int, int) {
    for (int64_t c; (c = next.fetch_add(1)) < chunks;)
      fn(c * chunk, std::min(n, (c + 1) * chunk));
  });
}

void set_team_size(int threads) { the_team().set_size(threads); }
int team_size() { return the_team().size(); }

} // namespace llamps::quant
