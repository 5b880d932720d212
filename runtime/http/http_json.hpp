#pragma once
// Internal to the HTTP server: the protocol's types as JSON (the page and the admin API read
// these), and models named by a GGUF path or by a catalog name and size.
#include <optional>

#include "runtime/http/http_context.hpp"
#include "model/shapes/model_catalog.hpp"

namespace llamps {

// nlohmann's ADL hooks: json j = server_status{...} etc.
void to_json(nlohmann::json& j, const node_offer& x);
void to_json(nlohmann::json& j, const hosted_range& x);
void to_json(nlohmann::json& j, const server_status& x);
void to_json(nlohmann::json& j, const plan_entry& x);
void to_json(nlohmann::json& j, const placement_plan& x);
void to_json(nlohmann::json& j, const load_progress& x);
void to_json(nlohmann::json& j, const deploy_status& x);
void to_json(nlohmann::json& j, const host_ref& x);
void to_json(nlohmann::json& j, const deployment& x);
void to_json(nlohmann::json& j, const session_info& x);
void to_json(nlohmann::json& j, const node_role_info& x);

namespace http {

// A model as a request names it: a GGUF path on this machine (which can be deployed), or a
// LLaMA-family shape from the catalog (which can only be planned: there are no weights).
struct resolved_model {
  model_profile profile;
  bool from_file = false;
  std::optional<catalog::entry> shape; // catalog models
  catalog::dtype dtype = catalog::dtype::f16;
};

// `spec` is "PATH-or-NAME", or {"path": P}, or {"name": N, "params_b": 7 | "params": "7b",
// "dtype": "f16"}. Throws error 400 (malformed, unreadable file) or 404 (unknown name).
resolved_model resolve_model(const json& spec);

// Blocks and memory of a model at once: what the page shows as soon as a model is entered.
json describe(const resolved_model& m);

// The catalog's known shapes, for the page's suggestions.
json catalog_list();

} // namespace http
} // namespace llamps
