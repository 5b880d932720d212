#pragma once
// The interactive session shell: one command per line against a cluster. On a terminal it
// edits lines and keeps history; otherwise it reads stdin line by line and prints plain
// output, so scripts can drive it.
#include <chrono>
#include <iosfwd>
#include <string>

#include "runtime/node/cluster_client.hpp"

namespace llamps {

class shell {
public:
  // sessions: the options of its sessions (how long they wait in line for a place, how long a
  // step may take); the model is set per command.
  // terminal_out: `out` is a terminal, so live progress redraws its lines in place.
  shell(cluster_client& client, std::ostream& out, std::ostream& err, session_options sessions = {},
        bool terminal_out = false);
  // Runs one command line. Returns false when the shell should end (quit).
  bool run_line(const std::string& line);
  // Reads lines (readline on a terminal) until quit or end of input. Returns the exit code:
  // non-zero when the last command failed and input was not a terminal (scripts see errors).
  int run(bool interactive);

private:
  void servers();
  void plan(const std::vector<std::string>& args);
  void deploy(const std::vector<std::string>& args);     // runtime/shell/shell_deploy.cpp
  deploy_status deploy_watched(const plan_request& req); // runtime/shell/shell_deploy.cpp
  std::vector<deploy_status> poll_progress();            // runtime/shell/shell_deploy.cpp
  void undeploy(const std::vector<std::string>& args);
  void deployments();
  void sessions();
  void generate(const std::vector<std::string>& args);
  void chat(const std::vector<std::string>& args);
  void load(const std::vector<std::string>& args); // runtime/shell/shell_load.cpp
  void hosts();                                    // runtime/shell/shell_load.cpp
  void help();
  std::string pick_model(const std::string& given);
  session_options session_for(const std::string& model) const; // the options of its sessions

  cluster_client& client_;
  std::ostream& out_;
  std::ostream& err_;
  session_options sessions_;
  bool terminal_out_ = false;
  bool interactive_ = false;
  bool last_failed_ = false;
  int failures_ = 0;
};

} // namespace llamps
