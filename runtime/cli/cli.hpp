#pragma once
// Shared option handling for every subcommand: parse with Boost.Program_options, print
// `--help`, turn bad options into one clear line and exit code 2.
#include <boost/program_options.hpp>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>

#include "model/decoder/llama_config.hpp"

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

// A bound as an option's error names it: 1, 0.5, 3600 (no trailing zeros for doubles).
template <class T>
std::string bound_text(T value) {
  if constexpr (std::is_floating_point_v<T>) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", double(value));
    return text;
  } else {
    return std::to_string(value);
  }
}

// Bounds for an option, as a notifier: po::value<T>()->notifier(cli::at_least("runs", 1)).
// A value out of bounds (NaN included) becomes parse's one clear line and exit code 2, before
// the command does anything. `rule` words the lower bound when "at least N" would not say it
// well.
template <class T>
std::function<void(const T&)> at_least(const std::string& option, T low, const std::string& rule = "") {
  return [=](const T& value) {
    if (!(value >= low))
      throw po::error("--" + option + " must be " + (rule.empty() ? "at least " + bound_text(low) : rule));
  };
}
template <class T>
std::function<void(const T&)> between(const std::string& option, T low, T high) {
  return [=](const T& value) {
    if (value >= low && value <= high)
      return;
    const std::string range = value < low ? "at least " + bound_text(low)
                              : value > high
                                  ? "at most " + bound_text(high)
                                  : "between " + bound_text(low) + " and " + bound_text(high); // NaN
    throw po::error("--" + option + " must be " + range);
  };
}
// --threads: 0 means every core.
inline std::function<void(const int&)> threads_option() {
  return at_least("threads", 0, "0 (all cores) or more");
}

// --kv-type: the KV cache's type, f16 (the default) or f32 (parse_kv_type's names).
inline std::function<void(const std::string&)> kv_type_option() {
  return [](const std::string& value) {
    try {
      parse_kv_type(value);
    } catch (const model_error&) {
      throw po::error("--kv-type must be f16 or f32, not '" + value + "'");
    }
  };
}

} // namespace llamps::cli
