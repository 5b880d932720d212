#pragma once
// Named spdlog loggers for the actors and commands: one logger per actor kind ("contributor",
// "deployer", ...), all writing to stderr so stdout stays free for a command's own output.
#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace llamps {

// The logger called `name`, created on first use (thread-safe; any actor may call it).
std::shared_ptr<spdlog::logger> logger(const std::string& name);

// Sets the level of every logger, existing and future: "trace", "debug", "info", "warn",
// "error", "critical" or "off". Throws std::invalid_argument naming an unknown level (and
// changes nothing), so every command reports a mistyped --log-level the same way.
void set_log_level(const std::string& level);

} // namespace llamps
