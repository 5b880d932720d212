// Placeholder until the command lands.
#include <cstdio>

#include "runtime/commands.hpp"

int llamps::cmd::generate(int, char**) {
  std::fprintf(stderr, "llamps generate: not implemented yet\n");
  return 1;
}
