// Placeholder until the command lands.
#include <cstdio>

#include "runtime/commands.hpp"

int llamps::cmd::plan(int, char**) {
  std::fprintf(stderr, "llamps plan: not implemented yet\n");
  return 1;
}
