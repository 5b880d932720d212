// Placeholder until the command lands.
#include <cstdio>

#include "runtime/commands.hpp"

int llamps::cmd::bench(int, char**) {
  std::fprintf(stderr, "llamps bench: not implemented yet\n");
  return 1;
}
