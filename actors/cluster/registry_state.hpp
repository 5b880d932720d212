#pragma once
// The registry's state file: the deployments it records (model, id, replicas, profile — no
// actor handles, which mean nothing to a restarted process), so that a registry started
// again on the same port knows them and rebuilds their hosts from the contributors'
// heartbeats.
#include <string>
#include <vector>

#include "actors/protocol/protocol.hpp"

namespace llamps {

// Writes the deployments (their hosts left out) atomically: a temporary file, then rename.
// Returns "" or the reason it failed.
std::string save_deployments(const std::string& path, const std::vector<deployment>& deployments);

// Reads them back; an absent file is an empty list. Throws std::runtime_error naming the
// file when it is unreadable or corrupt.
std::vector<deployment> load_deployments(const std::string& path);

} // namespace llamps
