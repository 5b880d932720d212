// Placeholder until the command lands.
#include <cstdio>

#include "runtime/commands.hpp"

int llamps::cmd::shell(int, char**) {
  std::fprintf(stderr, "llamps shell: not implemented yet\n");
  return 1;
}
