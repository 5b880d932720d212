// Placeholder until the command lands.
#include <cstdio>

#include "runtime/commands.hpp"

int llamps::cmd::node(int, char**) {
  std::fprintf(stderr, "llamps node: not implemented yet\n");
  return 1;
}
