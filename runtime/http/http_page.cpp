// The web page: GET / is index.html, GET /web/NAME its other files, all compiled into the
// binary (runtime/http/web/). Public: a browser loads the page before it can send an API key.
#include "runtime/http/http_context.hpp"
#include "runtime/http/web_assets.hpp"

namespace llamps::http {

namespace {

std::string content_type(const std::string& name) {
  auto ends_with = [&](const char* ext) {
    std::string e(ext);
    return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
  };
  if (ends_with(".html"))
    return "text/html; charset=utf-8";
  if (ends_with(".js"))
    return "text/javascript; charset=utf-8";
  if (ends_with(".css"))
    return "text/css; charset=utf-8";
  return "application/octet-stream";
}

void serve_asset(httplib::Response& res, const web::asset& a) {
  // Assets change with the binary: revalidate on every load rather than keep a stale page.
  res.set_header("Cache-Control", "no-cache");
  res.set_content(a.data, a.size, content_type(a.name));
}

} // namespace

void add_page_routes(httplib::Server& server) {
  for (const web::asset& a : web::assets()) {
    auto path = a.name == "index.html" ? std::string("/") : "/web/" + a.name;
    server.Get(path, [&a](const httplib::Request&, httplib::Response& res) { serve_asset(res, a); });
  }
}

} // namespace llamps::http
