#pragma once
#include <stdexcept>
#include <string>

namespace llamps {

// Every problem with a model file or a model request: the message names the file, the
// tensor or the key at fault, in one line, so the command can print it and exit non-zero.
struct model_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

} // namespace llamps
