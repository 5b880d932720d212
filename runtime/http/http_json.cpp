#include "runtime/http/http_json.hpp"

#include <filesystem>

#include "model/errors.hpp"
#include "actors/server/model_files.hpp"

namespace llamps {

using nlohmann::json;

void to_json(json& j, const node_offer& x) {
  j = json{{"node_id", x.node_id},
           {"address", x.address},
           {"memory_bytes", x.memory_bytes},
           {"total_memory_bytes", x.total_memory_bytes},
           {"cores", x.cores},
           {"tokens_per_s", x.tokens_per_s}};
}

void to_json(json& j, const hosted_range& x) {
  j = json{{"model", x.model},
           {"first", x.first},
           {"last", x.last},
           {"weight_bytes", x.weight_bytes},
           {"kv_budget_bytes", x.kv_budget_bytes},
           {"kv_bytes", x.kv_bytes},
           {"sessions", x.sessions},
           {"draining", x.draining},
           {"steps", x.steps}};
}

void to_json(json& j, const server_status& x) {
  j = json{{"node_id", x.offer.node_id},
           {"address", x.offer.address},
           {"memory_bytes", x.offer.memory_bytes},
           {"total_memory_bytes", x.offer.total_memory_bytes},
           {"cores", x.offer.cores},
           {"healthy", x.healthy},
           {"last_seen_ms", x.last_seen_ms},
           {"hosting", x.hosting}};
}

void to_json(json& j, const plan_entry& x) {
  j = json{{"node_id", x.node_id},
           {"address", x.address},
           {"first", x.first},
           {"last", x.last},
           {"weight_bytes", x.weight_bytes},
           {"kv_budget_bytes", x.kv_budget_bytes},
           {"sessions_capacity", x.sessions_capacity}};
}

void to_json(json& j, const placement_plan& x) {
  j = json{{"model", x.model},
           {"entries", x.entries},
           {"replicas", x.replicas},
           {"sessions_capacity", x.sessions_capacity},
           {"predicted_tokens_per_s", x.predicted_tokens_per_s},
           {"summary", x.summary}};
}

void to_json(json& j, const load_progress& x) {
  j = json{{"node_id", x.node_id}, {"bytes_done", x.bytes_done}, {"bytes_total", x.bytes_total},
           {"state", x.state},     {"first", x.first},           {"last", x.last}};
}

void to_json(json& j, const deploy_status& x) {
  j = json{
      {"model", x.model}, {"deployment_id", x.deployment_id}, {"state", x.state}, {"servers", x.servers}};
}

void to_json(json& j, const host_ref& x) {
  j = json{{"node_id", x.node_id},
           {"first", x.range.first},
           {"last", x.range.last},
           {"weight_bytes", x.range.weight_bytes},
           {"kv_budget_bytes", x.range.kv_budget_bytes}};
}

void to_json(json& j, const deployment& x) {
  j = json{{"model", x.model},
           {"deployment_id", x.deployment_id},
           {"n_blocks", x.profile.n_blocks},
           {"replicas", x.replicas},
           {"hosts", x.hosts}};
}

void to_json(json& j, const session_info& x) {
  j = json{{"session", x.session}, {"model", x.model}, {"tokens", x.tokens}, {"route", x.route}};
}

void to_json(json& j, const node_role_info& x) {
  j = json{{"node_id", x.node_id},         {"role", x.role},
           {"contributes", x.contributes}, {"share_memory_bytes", x.share_memory_bytes},
           {"share_cores", x.share_cores}, {"note", x.note},
           {"model_path", x.model_path}};
}

namespace http {

namespace {

model_profile catalog_profile(const catalog::entry& s, catalog::dtype t) {
  model_profile p;
  static_cast<model_shape&>(p) = s.sized(t);
  p.identity = std::string("catalog:") + s.name + ":" + catalog::dtype_name(t);
  return p;
}

resolved_model from_file(const std::string& path) {
  resolved_model m;
  try {
    m.profile = profile_of(path);
  } catch (const std::exception& e) {
    throw error(400, std::string("cannot read the model: ") + e.what(), "invalid_model");
  }
  m.from_file = true;
  return m;
}

resolved_model from_catalog(const std::string& name, std::optional<double> params,
                            const std::string& dtype_name) {
  auto t = catalog::parse_dtype(dtype_name);
  if (!t)
    throw error(400, "'dtype' must be f32, f16, q8_0 or q4_0", "invalid_value");
  auto shape = catalog::lookup(name, params);
  if (!shape)
    throw error(404,
                "'" + name +
                    "' is neither a GGUF file on this machine nor a known model name "
                    "(give a parameter count for an unlisted LLaMA-family model)",
                "model_not_found");
  resolved_model m;
  m.profile = catalog_profile(*shape, *t);
  m.shape = shape;
  m.dtype = *t;
  return m;
}

// "params": "7b" / 7e9, or "params_b": 7 (billions).
std::optional<double> params_of(const json& spec) {
  if (auto b = spec.find("params_b"); b != spec.end() && !b->is_null()) {
    double v = number_field(spec, "params_b", 0, 1e-6, 1e6);
    return v * 1e9;
  }
  auto p = spec.find("params");
  if (p == spec.end() || p->is_null() || (p->is_string() && p->get<std::string>().empty()))
    return std::nullopt;
  if (p->is_number())
    return number_field(spec, "params", 0, 1e3, 1e15);
  auto parsed = p->is_string() ? catalog::parse_params(p->get<std::string>()) : std::nullopt;
  if (!parsed)
    throw error(400, "'params' must be a size such as \"7b\" or \"350m\"", "invalid_value");
  return parsed;
}

} // namespace

resolved_model resolve_model(const json& spec) {
  if (spec.is_string()) {
    auto text = spec.get<std::string>();
    if (text.empty())
      throw error(400, "'model' is empty", "invalid_value");
    if (std::filesystem::is_regular_file(text))
      return from_file(text);
    return from_catalog(text, std::nullopt, "f16");
  }
  if (!spec.is_object())
    throw error(400, "'model' must be a GGUF path or {\"name\", \"params_b\"}", "invalid_value");
  auto path = string_field(spec, "path", "");
  if (!path.empty())
    return from_file(path);
  return from_catalog(string_field(spec, "name", ""), params_of(spec), string_field(spec, "dtype", "f16"));
}

json describe(const resolved_model& m) {
  const model_profile& p = m.profile;
  uint64_t kv_per_token = p.kv_bytes_per_token_per_block * static_cast<uint64_t>(p.n_blocks);
  json out{{"name", p.name},
           {"source", m.from_file ? "file" : "catalog"},
           {"path", p.path},
           {"architecture", p.architecture},
           {"n_blocks", p.n_blocks},
           {"n_embd", p.n_embd},
           {"n_ctx", p.n_ctx},
           {"block_bytes", p.block_bytes},
           {"head_bytes", p.head_bytes},
           {"weights_bytes", p.block_bytes * static_cast<uint64_t>(p.n_blocks)},
           {"kv_bytes_per_token", kv_per_token},
           {"kv_bytes_per_session", kv_per_token * static_cast<uint64_t>(p.n_ctx)}};
  if (m.from_file)
    out["file_size"] = p.file_size;
  if (m.shape) {
    out["params"] = m.shape->total_params();
    out["dtype"] = catalog::dtype_name(m.dtype);
    out["scaled"] = m.shape->scaled; // not a published shape: scaled to the parameter count
  }
  return out;
}

json catalog_list() {
  json list = json::array();
  for (auto& s : catalog::all())
    list.push_back(json{
        {"name", s.name}, {"architecture", s.architecture}, {"params", s.params}, {"n_blocks", s.n_blocks}});
  return list;
}

} // namespace http
} // namespace llamps
