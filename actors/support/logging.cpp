#include "actors/support/logging.hpp"

#include <cstdio>
#include <mutex>
#include <stdexcept>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace llamps {

namespace {
// spdlog's registry is thread-safe, but "get, else create" is two steps: two actors asking
// for the same new logger at once must not both create it (the second would throw).
std::mutex create_mutex;
} // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  if (auto existing = spdlog::get(name))
    return existing;
  std::lock_guard<std::mutex> guard(create_mutex);
  if (auto existing = spdlog::get(name))
    return existing;
  // New loggers take the global level, so set_log_level before or after creation both work.
  return spdlog::stderr_color_mt(name);
}

void set_log_level(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  // from_str answers "off" for every unknown name: only accept "off" when asked for it.
  if (parsed == spdlog::level::off && level != "off")
    throw std::invalid_argument("unknown log level '" + level +
                                "' (trace, debug, info, warn, error, critical, off)");
  spdlog::set_level(parsed);
}

} // namespace llamps
