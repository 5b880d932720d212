// GGUF v3 writer. Layout (as ggml's gguf_write): magic, version, tensor count, metadata count,
// metadata, tensor infos, zero padding to the alignment, then the tensor data, each tensor at
// an aligned offset and zero-padded to the alignment. The output file is memory-mapped and
// each tensor is produced straight into it, so nothing model-sized is held in our memory.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "model/gguf/gguf_writer.hpp"

namespace llamps::gguf {

namespace {

// Little-endian serialisation of the header into a byte buffer.
struct header_buffer {
  std::vector<uint8_t> bytes;

  template <class T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof v);
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void put_int(value_type t, int64_t v) {
    switch (t) {
    case value_type::uint8: put<uint8_t>(uint8_t(v)); break;
    case value_type::int8: put<int8_t>(int8_t(v)); break;
    case value_type::uint16: put<uint16_t>(uint16_t(v)); break;
    case value_type::int16: put<int16_t>(int16_t(v)); break;
    case value_type::uint32: put<uint32_t>(uint32_t(v)); break;
    case value_type::int32: put<int32_t>(int32_t(v)); break;
    case value_type::uint64: put<uint64_t>(uint64_t(v)); break;
    default: put<int64_t>(v); break;
    }
  }
  void put_float(value_type t, double v) {
    if (t == value_type::float32)
      put<float>(float(v));
    else
      put<double>(v);
  }
  template <class T, class F>
  void put_array(value_type et, const std::vector<T>& xs, F&& one) {
    put<uint32_t>(uint32_t(et));
    put<uint64_t>(xs.size());
    for (const auto& x : xs)
      one(x);
  }
  void put_value(const value& v) {
    const value_type t = v.type, et = v.element_type;
    put<uint32_t>(uint32_t(t));
    std::visit(
        [&](const auto& d) {
          using D = std::decay_t<decltype(d)>;
          if constexpr (std::is_same_v<D, int64_t>)
            put_int(t, d);
          else if constexpr (std::is_same_v<D, double>)
            put_float(t, d);
          else if constexpr (std::is_same_v<D, bool>)
            put<uint8_t>(d ? 1 : 0);
          else if constexpr (std::is_same_v<D, std::string>)
            put_string(d);
          else if constexpr (std::is_same_v<D, std::vector<int64_t>>)
            put_array(et, d, [&](int64_t x) { put_int(et, x); });
          else if constexpr (std::is_same_v<D, std::vector<double>>)
            put_array(et, d, [&](double x) { put_float(et, x); });
          else if constexpr (std::is_same_v<D, std::vector<std::string>>)
            put_array(et, d, [&](const std::string& x) { put_string(x); });
          else
            put_array(et, d, [&](bool x) { put<uint8_t>(x ? 1 : 0); });
        },
        v.data);
  }
};

uint64_t align_up(uint64_t n, uint64_t a) { return (n + a - 1) / a * a; }

value scalar(value_type t, decltype(value::data) d) {
  value v;
  v.type = t;
  v.data = std::move(d);
  return v;
}

value array(value_type et, decltype(value::data) d) {
  value v;
  v.type = value_type::array;
  v.element_type = et;
  v.data = std::move(d);
  return v;
}

// The output file: a temporary beside the target, mapped for writing, renamed when complete
// and removed if anything fails before that.
class mapped_output {
public:
  mapped_output(const std::string& path, uint64_t size)
      : path_(path), tmp_(path + ".tmp." + std::to_string(::getpid())), size_(size) {
    fd_ = ::open(tmp_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0)
      fail("cannot create");
    if (::ftruncate(fd_, off_t(size_)) != 0)
      fail("cannot resize to " + std::to_string(size_) + " bytes");
    void* m = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (m == MAP_FAILED)
      fail("cannot map");
    base_ = static_cast<uint8_t*>(m);
  }
  ~mapped_output() {
    if (base_)
      ::munmap(base_, size_);
    if (fd_ >= 0)
      ::close(fd_);
    if (!committed_)
      ::unlink(tmp_.c_str());
  }
  uint8_t* data() { return base_; }
  // Drops finished pages from our address space: they stay in the page cache (dirty, written
  // back by the kernel), so our resident size stays about one tensor, not the whole file.
  void release(uint64_t offset, uint64_t n) {
    const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
    const uint64_t start = offset / page * page;
    ::madvise(base_ + start, offset + n - start, MADV_DONTNEED);
  }
  void commit() {
    if (::msync(base_, size_, MS_SYNC) != 0 || ::fsync(fd_) != 0)
      fail("cannot write");
    ::munmap(base_, size_);
    base_ = nullptr;
    if (::rename(tmp_.c_str(), path_.c_str()) != 0)
      fail("cannot rename to " + path_);
    committed_ = true;
  }

private:
  [[noreturn]] void fail(const std::string& what) {
    throw model_error(path_ + ": " + what + ": " + std::strerror(errno));
  }
  std::string path_, tmp_;
  uint64_t size_;
  int fd_ = -1;
  uint8_t* base_ = nullptr;
  bool committed_ = false;
};

} // namespace

void writer::set_value(const std::string& key, const value& v) {
  if (v.type == value_type::array && v.element_type == value_type::array)
    throw model_error("metadata '" + key + "': nested arrays are not supported");
  for (auto& e : kvs_) {
    if (e.key == key) { // a key appears once: the last value wins
      e.v = v;
      e.type = v.type;
      return;
    }
  }
  kvs_.push_back({key, v, v.type});
}

void writer::set_uint32(const std::string& key, uint32_t v) {
  set_value(key, scalar(value_type::uint32, int64_t(v)));
}
void writer::set_float32(const std::string& key, float v) {
  set_value(key, scalar(value_type::float32, double(v)));
}
void writer::set_bool(const std::string& key, bool v) { set_value(key, scalar(value_type::boolean, v)); }
void writer::set_string(const std::string& key, const std::string& v) {
  set_value(key, scalar(value_type::string, v));
}

void writer::set_string_array(const std::string& key, const std::vector<std::string>& v) {
  set_value(key, array(value_type::string, v));
}
void writer::set_float32_array(const std::string& key, const std::vector<float>& v) {
  set_value(key, array(value_type::float32, std::vector<double>(v.begin(), v.end())));
}
void writer::set_int32_array(const std::string& key, const std::vector<int32_t>& v) {
  set_value(key, array(value_type::int32, std::vector<int64_t>(v.begin(), v.end())));
}

void writer::add_tensor(const std::string& name, std::vector<uint64_t> dims, tensor_type type, fill_fn fill) {
  const std::string what = "tensor '" + name + "'";
  if (name.empty() || name.size() > 63) // GGML_MAX_NAME
    throw model_error(what + ": name must be 1..63 bytes");
  for (const auto& t : tensors_)
    if (t.info.name == name)
      throw model_error(what + " is added twice");
  if (dims.empty() || dims.size() > 4 || std::count(dims.begin(), dims.end(), 0))
    throw model_error(what + ": needs 1..4 non-zero dimensions");
  if (!is_known(type) || dims[0] % block_size(type) != 0)
    throw model_error(what + ": rows of " + std::to_string(dims[0]) + " elements cannot be stored as " +
                      type_name(type));
  pending_tensor t;
  t.info.name = name;
  t.info.dims = std::move(dims);
  t.info.type = type;
  t.fill = std::move(fill);
  tensors_.push_back(std::move(t));
}

void writer::write(const std::string& path, uint32_t alignment) const {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    throw model_error(path + ": alignment " + std::to_string(alignment) + " is not a power of two");
  // general.alignment is always written so readers never have to assume the default.
  std::vector<kv> kvs = kvs_;
  auto al = std::find_if(kvs.begin(), kvs.end(), [](const kv& e) { return e.key == "general.alignment"; });
  const value al_value = scalar(value_type::uint32, int64_t(alignment));
  if (al != kvs.end())
    *al = {al->key, al_value, value_type::uint32};
  else
    kvs.push_back({"general.alignment", al_value, value_type::uint32});

  header_buffer h;
  h.bytes.insert(h.bytes.end(), {'G', 'G', 'U', 'F'});
  h.put<uint32_t>(3);
  h.put<uint64_t>(tensors_.size());
  h.put<uint64_t>(kvs.size());
  for (const auto& e : kvs) {
    h.put_string(e.key);
    h.put_value(e.v);
  }
  std::vector<uint64_t> offsets;
  uint64_t data_size = 0;
  for (const auto& t : tensors_) {
    offsets.push_back(data_size);
    data_size = align_up(data_size + t.info.n_bytes(), alignment);
    h.put_string(t.info.name);
    h.put<uint32_t>(uint32_t(t.info.dims.size()));
    for (uint64_t d : t.info.dims)
      h.put<uint64_t>(d);
    h.put<uint32_t>(uint32_t(t.info.type));
    h.put<uint64_t>(offsets.back());
  }
  const uint64_t data_offset = align_up(h.bytes.size(), alignment);

  // ftruncate zero-fills, which provides every padding byte.
  mapped_output out(path, data_offset + data_size);
  std::memcpy(out.data(), h.bytes.data(), h.bytes.size());
  for (size_t i = 0; i < tensors_.size(); ++i) {
    tensors_[i].fill(out.data() + data_offset + offsets[i], tensors_[i].info.n_bytes());
    out.release(data_offset + offsets[i], tensors_[i].info.n_bytes());
  }
  out.commit();
}

void quantize_q8_0(const float* src, uint8_t* dst, uint64_t n) {
  // ggml's quantize_row_q8_0_ref: d = amax / 127, q = round(x / d).
  for (uint64_t b = 0; b < n / 32; ++b, src += 32, dst += 34) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(src[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = f32_to_fp16(d);
    std::memcpy(dst, &dh, 2);
    for (int j = 0; j < 32; ++j)
      dst[2 + j] = uint8_t(int8_t(std::roundf(src[j] * id)));
  }
}

void quantize_q4_0(const float* src, uint8_t* dst, uint64_t n) {
  // ggml's quantize_row_q4_0_ref: the element of largest magnitude maps to -8 exactly.
  for (uint64_t b = 0; b < n / 32; ++b, src += 32, dst += 18) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; ++j) {
      if (amax < std::fabs(src[j])) {
        amax = std::fabs(src[j]);
        max = src[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = f32_to_fp16(d);
    std::memcpy(dst, &dh, 2);
    for (int j = 0; j < 16; ++j) {
      const uint8_t lo = uint8_t(std::min<int>(15, int8_t(src[j] * id + 8.5f)));
      const uint8_t hi = uint8_t(std::min<int>(15, int8_t(src[16 + j] * id + 8.5f)));
      dst[2 + j] = uint8_t(lo | (hi << 4));
    }
  }
}

} // namespace llamps::gguf
