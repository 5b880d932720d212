#pragma once
// The subcommands of the one `llamps` binary. Each takes the arguments after its name
// (argv[0] is the command name) and returns the process exit code.
namespace llamps::cmd {

int generate(int argc, char** argv);       // runtime/cli/cmd_generate.cpp
int inspect(int argc, char** argv);        // runtime/cli/cmd_inspect.cpp
int tokenize(int argc, char** argv);       // runtime/cli/cmd_tokenize.cpp
int chat_prompt(int argc, char** argv);    // runtime/cli/cmd_chat_prompt.cpp
int make_model(int argc, char** argv);     // runtime/cli/cmd_make_model.cpp
int bench(int argc, char** argv);          // runtime/bench/cmd_bench.cpp
int bench_cluster(int argc, char** argv);  // runtime/bench/cmd_bench_cluster.cpp
int bench_registry(int argc, char** argv); // runtime/bench/cmd_bench_registry.cpp
int plan(int argc, char** argv);           // runtime/cli/cmd_plan.cpp
int node(int argc, char** argv);           // runtime/cli/cmd_node.cpp
int shell(int argc, char** argv);          // runtime/cli/cmd_shell.cpp
int demo(int argc, char** argv);           // runtime/cli/cmd_demo.cpp
int ca(int argc, char** argv);             // runtime/cli/cmd_ca.cpp

} // namespace llamps::cmd
