// Placeholder until the command lands.
#include <cstdio>

#include "runtime/commands.hpp"

int llamps::cmd::inspect(int, char**) {
  std::fprintf(stderr, "llamps inspect: not implemented yet\n");
  return 1;
}
