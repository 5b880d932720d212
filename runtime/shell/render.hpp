#pragma once
// Plain-text tables for the shell and the demo (the HTTP API renders the same data as JSON).
#include <string>
#include <vector>

#include "actors/protocol/protocol.hpp"
#include "actors/support/units.hpp"

namespace llamps {

std::string render_servers(const std::vector<server_status>& servers);
std::string render_plan(const placement_plan& plan);
std::string render_deployments(const std::vector<deployment>& deployments);
std::string render_progress(const deploy_status& status);
// One server's line while a deployment loads: node, blocks, bytes loaded of total, percentage,
// rate (bytes_per_s < 0: none to show), state.
std::string render_load_line(const load_progress& p, double bytes_per_s);
std::string render_route(const std::vector<std::string>& nodes);
std::string render_ids(const std::vector<int32_t>& ids); // "1 403 407 ..."

} // namespace llamps
