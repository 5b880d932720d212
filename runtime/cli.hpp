#pragma once
// Shared option handling for every subcommand: parse with Boost.Program_options, print
// `--help`, turn bad options into one clear line and exit code 2.
#include <boost/program_options.hpp>
#include <optional>
#include <string>

namespace llamps::cli {

namespace po = boost::program_options;

// Parses argv against `options` (plus --help, which it adds). Returns the variables, or an
// exit code when the command should stop now (0 after --help, 2 after a bad option; the
// message is already printed). `usage` is the first help line, e.g.
// "llamps generate --model PATH [options]".
struct parsed {
  po::variables_map vars;
  std::optional<int> exit_code;
};
parsed parse(int argc, char** argv, const std::string& usage, po::options_description options,
             const po::positional_options_description* positional = nullptr);

} // namespace llamps::cli
