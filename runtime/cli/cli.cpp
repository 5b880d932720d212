#include "runtime/cli/cli.hpp"

#include <iostream>

namespace llamps::cli {

parsed parse(int argc, char** argv, const std::string& usage, po::options_description options,
             const po::positional_options_description* positional) {
  options.add_options()("help,h", "show this help");
  parsed out;
  try {
    auto parser = po::command_line_parser(argc, argv).options(options);
    if (positional)
      parser.positional(*positional);
    po::store(parser.run(), out.vars);
    if (out.vars.count("help")) {
      std::cout << "usage: " << usage << "\n\n" << options << "\n";
      out.exit_code = 0;
      return out;
    }
    po::notify(out.vars);
  } catch (const po::error& e) {
    std::cerr << "error: " << e.what() << "\nusage: " << usage << " (--help for all options)\n";
    out.exit_code = 2;
  }
  return out;
}

} // namespace llamps::cli
