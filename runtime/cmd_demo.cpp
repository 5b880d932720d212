// Placeholder until the command lands.
#include <cstdio>

#include "runtime/commands.hpp"

int llamps::cmd::demo(int, char**) {
  std::fprintf(stderr, "llamps demo: not implemented yet\n");
  return 1;
}
