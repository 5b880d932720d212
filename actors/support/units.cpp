#include "actors/support/units.hpp"

#include <cstdarg>
#include <cstdio>
#include <stdexcept>

namespace llamps {

namespace {
std::string one_decimal(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}
} // namespace

std::string format_text(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? std::to_string(bytes) + " B" : one_decimal(v) + " " + units[u];
}

std::pair<std::string, uint16_t> split_address(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size())
    throw std::invalid_argument("address '" + address + "' is not HOST:PORT");
  auto host = address.substr(0, colon);
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(address.substr(colon + 1), &used);
    if (used != address.size() - colon - 1)
      throw std::invalid_argument("");
  } catch (const std::exception&) {
    throw std::invalid_argument("address '" + address + "' has no valid port");
  }
  if (port < 0 || port > 65535)
    throw std::invalid_argument("address '" + address + "' has a port out of range");
  return {host.empty() ? "0.0.0.0" : host, static_cast<uint16_t>(port)};
}

} // namespace llamps
