#include "actors/client/weight_source.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace llamps {

weight_source::weight_source(const gguf::file& f)
    : size_(f.file_size()), header_end_(f.data_offset()), alignment_(f.alignment()) {
  fd_ = ::open(f.path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0)
    throw model_error("cannot open " + f.path() + " for streaming");
  for (const gguf::tensor_info& t : f.tensors())
    tensors_.push_back({t.name, {header_end_ + t.offset, header_end_ + t.offset + t.n_bytes()}});
}

void weight_source::allow(const std::string& node, int first, int last) {
  auto& spans = allowed_[node];
  spans.push_back({0, header_end_});
  for (const tensor_span& t : tensors_)
    if (host_needs_tensor(t.name, first, last))
      spans.push_back(t.bytes);
  // Spans less than the alignment apart are joined: such a gap is padding only (every
  // tensor starts aligned), so no other tensor's bytes can hide in it.
  std::sort(spans.begin(), spans.end(), [](auto& a, auto& b) { return a.begin < b.begin; });
  std::vector<span> joined;
  for (const span& s : spans)
    if (!joined.empty() && s.begin < joined.back().end + alignment_)
      joined.back().end = std::max(joined.back().end, s.end);
    else
      joined.push_back(s);
  spans = std::move(joined);
}

weight_source::~weight_source() { ::close(fd_); }

bool weight_source::in_plan(const std::string& node) const { return allowed_.count(node) > 0; }

bool weight_source::may_read(const std::string& node, uint64_t offset, uint64_t length) const {
  auto found = allowed_.find(node);
  if (found == allowed_.end() || offset > size_ || length > size_ - offset)
    return false;
  return std::any_of(found->second.begin(), found->second.end(),
                     [&](const span& s) { return offset >= s.begin && offset + length <= s.end; });
}

bool weight_source::read(uint64_t offset, std::vector<char>& out) const {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, off_t(offset + done));
    if (n <= 0)
      return false;
    done += size_t(n);
  }
  return true;
}

} // namespace llamps
