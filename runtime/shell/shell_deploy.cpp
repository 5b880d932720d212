// The shell's deploy: it starts the deployment, polls the deployer's progress while the
// servers load their blocks, and prints the final status. On a terminal the servers' lines are
// redrawn in place; otherwise a server gets a line when its progress moved by a tenth or its
// state changed, so that scripts and logs stay short.
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <utility>

#include "runtime/shell/render.hpp"
#include "runtime/shell/shell.hpp"
#include "runtime/shell/shell_args.hpp"

namespace llamps {

namespace {

using clock_type = std::chrono::steady_clock;
constexpr auto poll_interval = std::chrono::milliseconds(300);

// The deployment `model` as the deployer reports it, unless it is the one numbered `old_id`.
std::optional<deploy_status> status_of(const std::vector<deploy_status>& all, const std::string& model,
                                       const std::string& old_id) {
  for (auto& s : all)
    if (s.model == model && s.deployment_id != old_id)
      return s;
  return std::nullopt;
}

// The servers' lines of one deployment, as they were last shown.
class progress_view {
public:
  progress_view(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}

  void show(const deploy_status& status) {
    auto now = clock_type::now();
    std::vector<std::string> lines;
    for (auto& p : status.servers) {
      if (!terminal_ && !changed(p))
        continue;
      lines.push_back(render_load_line(p, rate(p, now)));
      seen_[p.node_id] = sample{p.bytes_done, now, tenth(p), p.state};
    }
    if (terminal_)
      redraw(lines);
    else
      for (auto& l : lines)
        out_ << l;
    out_ << std::flush;
  }

  // Makes room for the final summary: on a terminal it takes the place of the live lines.
  void close() {
    if (terminal_ && drawn_ > 0)
      out_ << "\x1b[" << drawn_ << "A\r\x1b[J" << std::flush;
    drawn_ = 0;
  }

private:
  struct sample {
    uint64_t bytes = 0;
    clock_type::time_point at;
    int tenth = -1;
    std::string state;
  };

  static int tenth(const load_progress& p) {
    return p.bytes_total > 0 ? static_cast<int>(p.bytes_done * 10 / p.bytes_total) : 0;
  }

  // Plain output: a line when the server moved by a tenth of its bytes or changed state.
  bool changed(const load_progress& p) const {
    auto last = seen_.find(p.node_id);
    return last == seen_.end() || tenth(p) > last->second.tenth || p.state != last->second.state;
  }

  // Bytes per second since the server's last line; -1 before there is one, or once it no
  // longer loads (ready, failed, rolled back).
  double rate(const load_progress& p, clock_type::time_point now) const {
    auto last = seen_.find(p.node_id);
    bool loading = p.state.rfind("fetching", 0) == 0 || p.state.rfind("loading", 0) == 0;
    if (last == seen_.end() || !loading || p.bytes_done < last->second.bytes)
      return -1;
    double seconds = std::chrono::duration<double>(now - last->second.at).count();
    return seconds > 0 ? (p.bytes_done - last->second.bytes) / seconds : -1;
  }

  // Moves up over the lines drawn before and writes the new ones in their place.
  void redraw(const std::vector<std::string>& lines) {
    if (drawn_ > 0)
      out_ << "\x1b[" << drawn_ << "A";
    for (auto& l : lines)
      out_ << "\r\x1b[2K" << l;
    out_ << "\x1b[J";
    drawn_ = lines.size();
  }

  std::ostream& out_;
  bool terminal_;
  std::map<std::string, sample> seen_;
  size_t drawn_ = 0;
};

} // namespace

void shell::deploy(const std::vector<std::string>& args) {
  auto req = plan_request_from(args, "deploy");
  out_ << "deploying " << req.model.name << " (" << human_bytes(req.model.block_bytes * req.model.n_blocks)
       << " of blocks)..." << std::endl;
  out_ << render_progress(deploy_watched(req));
}

// Deploys, showing the servers' progress until the deployer answers; throws its error.
deploy_status shell::deploy_watched(const plan_request& req) {
  const std::string model = req.model.name;
  auto before = status_of(poll_progress(), model, "");
  const std::string old_id = before ? before->deployment_id : "";
  using outcome = std::pair<deploy_status, std::string>;
  auto answer = std::make_shared<std::promise<outcome>>();
  auto done = answer->get_future();
  client_.deploy_async(req, [answer](const deploy_status& status, const std::string& error) {
    answer->set_value({status, error});
  });
  progress_view view(out_, terminal_out_);
  while (done.wait_for(poll_interval) == std::future_status::timeout)
    if (auto now = status_of(poll_progress(), model, old_id))
      view.show(*now);
  auto [status, error] = done.get();
  if (!error.empty()) {
    if (auto failed = status_of(poll_progress(), model, old_id))
      view.show(*failed); // which server failed, and the others rolled back
    throw std::runtime_error(error);
  }
  if (!terminal_out_)
    view.show(status); // every server's last line: it finished
  view.close();
  return status;
}

// The deployer's progress list; empty when it does not answer (the deployment's own answer
// still comes).
std::vector<deploy_status> shell::poll_progress() {
  try {
    return client_.progress();
  } catch (const std::runtime_error&) {
    return {};
  }
}

} // namespace llamps
