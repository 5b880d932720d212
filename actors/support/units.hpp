#pragma once
// Small conversions every layer above the model shares: byte counts and printf-style lines for
// people, and "host:port" addresses.
#include <cstdint>
#include <string>
#include <utility>

namespace llamps {

// "512 B", "1.5 MB", "42.0 GB" (powers of 1000).
std::string human_bytes(uint64_t bytes);

// printf into a string, for table rows and report lines (cut at 511 characters).
std::string format_text(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Splits "host:port"; throws std::invalid_argument naming the bad address.
std::pair<std::string, uint16_t> split_address(const std::string& address);

} // namespace llamps
