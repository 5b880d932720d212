#pragma once
// The web page's files (runtime/http/web/), compiled into the binary by the build
// (runtime/http/web/embed.cmake generates their definition).
#include <cstddef>
#include <string>
#include <vector>

namespace llamps::web {

struct asset {
  std::string name; // file name in runtime/http/web/, e.g. "app.js"
  const char* data;
  size_t size;
};

const std::vector<asset>& assets();

} // namespace llamps::web
