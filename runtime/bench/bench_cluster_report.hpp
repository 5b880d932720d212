#pragma once
// What bench-cluster (runtime/bench/cmd_bench_cluster.cpp) prints: the progress lines while
// it runs, the CPU and each deployment, and at the end the figures as markdown tables. Kept
// in one place so that the output's shape can be read (and kept the same) without the
// measures around it.
#include <string>

#include "runtime/bench/bench_cluster_measures.hpp"

namespace llamps::bench_cluster_detail {

// The run's first line: what it measures and where the node logs go.
void print_start(const options& o, const std::string& work);

// "WHAT: RATE tok/s HOW", flushed so that a long run shows how far it got.
void print_progress(const std::string& what, double tok_s, const std::string& how);

// The CPU (and so the kernels) that every process of the run computes on.
void print_cpu();
// Before a deployment: the model and the memory each node offers (`share`, GB).
void print_deploying(const model_profile& p, int nodes, const std::string& share);
// After it: the time it took and the hosts of `model` as the client lists them.
void print_deployed(double seconds, cluster_client& client, const std::string& model);

// The tables of (a) to (d).
void print_figures(const options& o, const bench_figures& f);

} // namespace llamps::bench_cluster_detail
