// Placeholder until the command lands.
#include <cstdio>

#include "runtime/commands.hpp"

int llamps::cmd::make_model(int, char**) {
  std::fprintf(stderr, "llamps make-model: not implemented yet\n");
  return 1;
}
