// GGUF reader: parses and validates the header, metadata and tensor table of a memory-mapped
// file. Every structural problem becomes one model_error line "<path>: <problem>".
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>

#include <openssl/evp.h>

#include "model/gguf/gguf.hpp"
#include "model/gguf/gguf_parse.hpp"
#include "model/quant/formats.hpp"

namespace llamps::gguf {

struct file::impl {
  std::string path;
  // The whole file: mmap'ed, or a copy for open_memory. Shared, so that weights viewed in
  // place (tensor_view) keep it alive after the file object is gone.
  std::shared_ptr<const uint8_t> image;
  uint64_t size = 0;
  bool mapped = false;
  parsed_header header;
  std::map<std::string, size_t> index; // tensor name -> position in header.tensors
  [[noreturn]] void fail(const std::string& what) const { throw model_error(path + ": " + what); }

  void map() {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      fail(std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      fail("not a regular file");
    }
    size = uint64_t(st.st_size);
    if (size > 0) {
      void* m = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (m == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        fail(std::string("cannot map: ") + std::strerror(err));
      }
      const uint64_t length = size;
      image.reset(static_cast<const uint8_t*>(m),
                  [length](const uint8_t* p) { munmap(const_cast<uint8_t*>(p), length); });
      mapped = true;
    }
    ::close(fd); // the mapping keeps the file's pages reachable
  }

  void parse() {
    header = parse_header(image.get(), size, path);
    for (size_t i = 0; i < header.tensors.size(); ++i)
      index.emplace(header.tensors[i].name, i);
  }
};

file::file(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
file::file(file&&) noexcept = default;
file& file::operator=(file&&) noexcept = default;
file::~file() = default;

file file::open(const std::string& path) {
  auto p = std::make_unique<impl>();
  p->path = path;
  p->map();
  p->parse();
  return file(std::move(p));
}

file file::open_memory(const uint8_t* data, size_t size, const std::string& name) {
  auto p = std::make_unique<impl>();
  p->path = name;
  auto copy = std::make_shared<std::vector<uint8_t>>(data, data + size);
  p->image = std::shared_ptr<const uint8_t>(copy, copy->data());
  p->size = size;
  p->parse();
  return file(std::move(p));
}

const std::string& file::path() const { return impl_->path; }
uint32_t file::version() const { return impl_->header.version; }
uint64_t file::file_size() const { return impl_->size; }
uint64_t file::data_offset() const { return impl_->header.data_offset; }
uint32_t file::alignment() const { return impl_->header.alignment; }
const std::map<std::string, value>& file::metadata() const { return impl_->header.metadata; }
const std::vector<tensor_info>& file::tensors() const { return impl_->header.tensors; }

bool file::has(const std::string& key) const { return metadata().count(key) != 0; }

namespace {
const value* lookup(const std::map<std::string, value>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}
} // namespace

std::optional<int64_t> file::get_int(const std::string& key) const {
  const value* v = lookup(metadata(), key);
  if (v && std::holds_alternative<int64_t>(v->data))
    return std::get<int64_t>(v->data);
  return std::nullopt;
}

std::optional<double> file::get_float(const std::string& key) const {
  const value* v = lookup(metadata(), key);
  if (v && std::holds_alternative<double>(v->data))
    return std::get<double>(v->data);
  if (v && std::holds_alternative<int64_t>(v->data))
    return double(std::get<int64_t>(v->data));
  return std::nullopt;
}

std::optional<std::string> file::get_string(const std::string& key) const {
  const value* v = lookup(metadata(), key);
  if (v && std::holds_alternative<std::string>(v->data))
    return std::get<std::string>(v->data);
  return std::nullopt;
}

std::optional<bool> file::get_bool(const std::string& key) const {
  const value* v = lookup(metadata(), key);
  if (v && std::holds_alternative<bool>(v->data))
    return std::get<bool>(v->data);
  return std::nullopt;
}

const std::vector<std::string>* file::get_string_array(const std::string& key) const {
  const value* v = lookup(metadata(), key);
  return v ? std::get_if<std::vector<std::string>>(&v->data) : nullptr;
}

std::vector<double> file::get_float_array(const std::string& key) const {
  const value* v = lookup(metadata(), key);
  if (!v)
    return {};
  if (const auto* d = std::get_if<std::vector<double>>(&v->data))
    return *d;
  if (const auto* i = std::get_if<std::vector<int64_t>>(&v->data))
    return std::vector<double>(i->begin(), i->end());
  return {};
}

std::vector<int64_t> file::get_int_array(const std::string& key) const {
  const value* v = lookup(metadata(), key);
  if (const auto* i = v ? std::get_if<std::vector<int64_t>>(&v->data) : nullptr)
    return *i;
  return {};
}

const tensor_info* file::find_tensor(const std::string& name) const {
  auto it = impl_->index.find(name);
  return it == impl_->index.end() ? nullptr : &impl_->header.tensors[it->second];
}

const tensor_info& file::require_tensor(const std::string& name) const {
  if (const tensor_info* t = find_tensor(name))
    return *t;
  impl_->fail("tensor '" + name + "' is missing");
}

const tensor_info& file::require_tensor(const std::string& name, const std::vector<uint64_t>& dims) const {
  const tensor_info& t = require_tensor(name);
  if (t.dims != dims) {
    auto show = [](const std::vector<uint64_t>& d) {
      std::string s = "[";
      for (size_t i = 0; i < d.size(); ++i)
        s += (i ? ", " : "") + std::to_string(d[i]);
      return s + "]";
    };
    impl_->fail("tensor " + name + " has dims " + show(t.dims) + ", expected " + show(dims));
  }
  return t;
}

const uint8_t* file::tensor_bytes(const tensor_info& t) const {
  // Offsets were validated at open; this only guards against a tensor_info from elsewhere.
  const uint64_t start = impl_->header.data_offset + t.offset;
  if (start < t.offset || start > impl_->size || t.n_bytes() > impl_->size - start)
    impl_->fail("tensor '" + t.name + "' lies outside the file");
  return impl_->image.get() + start;
}

void file::read_f32(const tensor_info& t, float* out) const {
  const uint8_t* bytes = tensor_bytes(t);
  quant::dequantize_row(t.type, bytes, out, int64_t(t.n_elements()));
  if (impl_->mapped) {
    // The caller has its own copy now: give the file's pages back, so that a host loading its
    // blocks holds them once, not twice (its copy plus the mapped file), at its peak. They stay
    // in the page cache; a later read maps them again.
    const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (uintptr_t(bytes) + page - 1) & ~(page - 1);
    const uintptr_t end = (uintptr_t(bytes) + t.n_bytes()) & ~(page - 1);
    if (end > begin)
      madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }
}

std::shared_ptr<const uint8_t> file::tensor_view(const tensor_info& t) const {
  return std::shared_ptr<const uint8_t>(impl_->image, tensor_bytes(t));
}

std::vector<float> file::read_f32(const tensor_info& t) const {
  std::vector<float> out(t.n_elements());
  read_f32(t, out.data());
  return out;
}

std::string file::type_summary() const {
  std::map<std::string, int> count;
  for (const tensor_info& t : tensors())
    ++count[type_name(t.type)];
  std::vector<std::pair<int, std::string>> order;
  for (const auto& [name, n] : count)
    order.emplace_back(-n, name);
  std::sort(order.begin(), order.end());
  std::string out;
  for (const auto& [n, name] : order)
    out += (out.empty() ? "" : ", ") + name + " x" + std::to_string(-n);
  return out;
}

std::string file::identity() const {
  // Header + metadata + tensor table pin down the model's structure and names; the file size
  // makes a re-quantised or re-packed copy with the same table unlikely to collide.
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const uint64_t size = impl_->size;
  const uint64_t header_len = std::min(impl_->header.data_offset, size);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), impl_->image.get(), header_len) != 1 ||
      EVP_DigestUpdate(ctx.get(), &size, sizeof size) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1)
    impl_->fail("SHA-256 failed");
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

uint64_t tensor_info::n_elements() const {
  uint64_t n = 1;
  for (uint64_t d : dims)
    n *= d;
  return n;
}

uint64_t tensor_info::n_bytes() const { return row_bytes(type, n_elements()); }

} // namespace llamps::gguf
