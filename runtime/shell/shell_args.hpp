#pragma once
// Option parsing shared by the shell's commands.
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "actors/protocol/protocol.hpp"

namespace llamps {

// Parses a command's words against `options`; the words that are not options go to the
// option named `rest` (if any, up to `rest_count` of them, -1 = all). A bad option becomes
// std::runtime_error("<command>: <reason><usage>").
boost::program_options::variables_map
parse_shell_args(const std::vector<std::string>& args,
                 const boost::program_options::options_description& options, const std::string& command,
                 const char* rest = nullptr, int rest_count = -1, const std::string& usage = "");

// The words after the options, as the one prompt they spell.
std::string join_words(const std::vector<std::string>& words);

// The request of plan and deploy (MODEL and their options); `command` names it in errors.
plan_request plan_request_from(const std::vector<std::string>& args, const char* command);

} // namespace llamps
