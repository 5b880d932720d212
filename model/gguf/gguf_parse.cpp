// Parsing and validation of a GGUF header, metadata and tensor table. Every length read from
// the file is checked against the bytes that remain before anything is allocated, so a
// corrupt or hostile file costs at most its own size in memory.
#include <cstring>
#include <limits>
#include <unordered_set>

#include "model/gguf/gguf_parse.hpp"

namespace llamps::gguf {

namespace {

constexpr uint32_t max_dims = 4;                     // GGML_MAX_DIMS
constexpr uint64_t max_name_len = 63;                // GGML_MAX_NAME - 1: longer names do not fit in ggml
constexpr uint64_t min_kv_bytes = 13;                // key length + 1 key byte + type + 1 value byte
constexpr uint64_t min_tensor_bytes = 33;            // name length + 1 + n_dims + 1 dim + type + offset
constexpr uint64_t max_elements = uint64_t(1) << 60; // keeps byte counts far from overflow

// Bounds-checked little-endian cursor over the file image.
struct cursor {
  const uint8_t* data;
  uint64_t size;
  uint64_t pos;
  const std::string& path;

  [[noreturn]] void fail(const std::string& what) const { throw model_error(path + ": " + what); }

  uint64_t remaining() const { return size - pos; }

  void need(uint64_t n, const std::string& what) const {
    if (n > remaining())
      fail("truncated: " + what + " at byte " + std::to_string(pos) + " needs " + std::to_string(n) +
           " bytes but the file has " + std::to_string(size) + " bytes");
  }

  template <class T>
  T get(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data + pos, sizeof v);
    pos += sizeof v;
    return v;
  }

  std::string str(const std::string& what) {
    const uint64_t at = pos;
    const uint64_t n = get<uint64_t>(what);
    if (n > remaining())
      fail(what + " at byte " + std::to_string(at) + " has length " + std::to_string(n) +
           ", past the end of the file (" + std::to_string(size) + " bytes; truncated or corrupt)");
    std::string s(reinterpret_cast<const char*>(data + pos), n);
    pos += n;
    return s;
  }
};

uint64_t scalar_size(value_type t) {
  switch (t) {
  case value_type::uint8:
  case value_type::int8:
  case value_type::boolean: return 1;
  case value_type::uint16:
  case value_type::int16: return 2;
  case value_type::uint32:
  case value_type::int32:
  case value_type::float32: return 4;
  case value_type::uint64:
  case value_type::int64:
  case value_type::float64: return 8;
  case value_type::string: return 8; // at least its length
  default: return 0;                 // array, or not a type at all
  }
}

bool is_integer(value_type t) {
  return t != value_type::float32 && t != value_type::float64 && t != value_type::boolean &&
         t != value_type::string && t != value_type::array;
}

bool is_float(value_type t) { return t == value_type::float32 || t == value_type::float64; }

// Reads one integer of type t, widened to int64.
int64_t read_int(cursor& c, value_type t, const std::string& what) {
  switch (t) {
  case value_type::uint8: return c.get<uint8_t>(what);
  case value_type::int8: return c.get<int8_t>(what);
  case value_type::uint16: return c.get<uint16_t>(what);
  case value_type::int16: return c.get<int16_t>(what);
  case value_type::uint32: return c.get<uint32_t>(what);
  case value_type::int32: return c.get<int32_t>(what);
  case value_type::int64: return c.get<int64_t>(what);
  default: {
    const uint64_t v = c.get<uint64_t>(what);
    if (v > uint64_t(std::numeric_limits<int64_t>::max()))
      c.fail(what + " is " + std::to_string(v) + ", too large to be meaningful");
    return int64_t(v);
  }
  }
}

double read_float(cursor& c, value_type t, const std::string& what) {
  return t == value_type::float32 ? double(c.get<float>(what)) : c.get<double>(what);
}

value_type read_type(cursor& c, const std::string& what) {
  const uint32_t t = c.get<uint32_t>(what);
  if (t > uint32_t(value_type::float64))
    c.fail(what + " has unknown value type " + std::to_string(t));
  return value_type(t);
}

template <class T, class F>
std::vector<T> read_elements(uint64_t n, F&& read_one) {
  std::vector<T> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i)
    out.push_back(read_one());
  return out;
}

value read_array(cursor& c, const std::string& what) {
  value v;
  v.type = value_type::array;
  v.element_type = read_type(c, what + " element type");
  const value_type et = v.element_type;
  if (et == value_type::array)
    c.fail(what + " is a nested array, which is not supported");
  const uint64_t n = c.get<uint64_t>(what + " length");
  if (n > c.remaining() / scalar_size(et))
    c.fail(what + " has " + std::to_string(n) +
           " elements, more than the rest of the file can hold (truncated or corrupt)");
  const std::string elem = what + " element";
  if (et == value_type::string)
    v.data = read_elements<std::string>(n, [&] { return c.str(elem); });
  else if (et == value_type::boolean)
    v.data = read_elements<bool>(n, [&] { return c.get<uint8_t>(elem) != 0; });
  else if (is_float(et))
    v.data = read_elements<double>(n, [&] { return read_float(c, et, elem); });
  else
    v.data = read_elements<int64_t>(n, [&] { return read_int(c, et, elem); });
  return v;
}

value read_value(cursor& c, value_type t, const std::string& what) {
  if (t == value_type::array)
    return read_array(c, what);
  value v;
  v.type = t;
  if (t == value_type::string)
    v.data = c.str(what);
  else if (t == value_type::boolean)
    v.data = c.get<uint8_t>(what) != 0;
  else if (is_float(t))
    v.data = read_float(c, t, what);
  else
    v.data = read_int(c, t, what);
  return v;
}

// Reads a count (of metadata entries or tensors) and rejects counts the file cannot hold.
uint64_t read_count(cursor& c, const char* what, uint64_t min_entry_bytes) {
  const uint64_t n = c.get<uint64_t>(what);
  if (n > c.remaining() / min_entry_bytes)
    c.fail(std::string(what) + " " + std::to_string(n) +
           " is more than the rest of the file can hold (truncated or corrupt)");
  return n;
}

void read_metadata(cursor& c, uint64_t n_kv, parsed_header& h) {
  for (uint64_t i = 0; i < n_kv; ++i) {
    const std::string ordinal = "metadata entry " + std::to_string(i);
    std::string key = c.str("key of " + ordinal);
    const value_type t = read_type(c, "metadata '" + key + "'");
    value v = read_value(c, t, "metadata '" + key + "'");
    if (!h.metadata.emplace(key, std::move(v)).second)
      c.fail("duplicate metadata key '" + key + "'");
  }
}

uint32_t read_alignment(const cursor& c, const parsed_header& h) {
  auto it = h.metadata.find("general.alignment");
  if (it == h.metadata.end())
    return 32;
  const auto* a = std::get_if<int64_t>(&it->second.data);
  if (!a || !is_integer(it->second.type))
    c.fail("general.alignment is not an integer");
  if (*a <= 0 || *a > (1 << 30) || (*a & (*a - 1)) != 0)
    c.fail("general.alignment " + std::to_string(*a) + " is not a power of two");
  return uint32_t(*a);
}

tensor_info read_tensor_info(cursor& c, uint64_t i) {
  tensor_info t;
  t.name = c.str("name of tensor " + std::to_string(i));
  if (t.name.empty() || t.name.size() > max_name_len)
    c.fail("tensor " + std::to_string(i) + " has a name of " + std::to_string(t.name.size()) +
           " bytes (must be 1.." + std::to_string(max_name_len) + ")");
  const std::string what = "tensor '" + t.name + "'";
  const uint32_t n_dims = c.get<uint32_t>(what + " dimension count");
  if (n_dims == 0 || n_dims > max_dims)
    c.fail(what + " has " + std::to_string(n_dims) + " dimensions (must be 1.." + std::to_string(max_dims) +
           ")");
  for (uint32_t d = 0; d < n_dims; ++d)
    t.dims.push_back(c.get<uint64_t>(what + " dimensions"));
  t.type = tensor_type(c.get<uint32_t>(what + " type"));
  t.offset = c.get<uint64_t>(what + " offset");
  return t;
}

std::string to_string(unsigned __int128 v) {
  std::string s;
  do {
    s.insert(s.begin(), char('0' + int(v % 10)));
    v /= 10;
  } while (v != 0);
  return s;
}

// Checks one tensor's shape, type and place in the file.
void check_tensor(const cursor& c, const tensor_info& t, const parsed_header& h) {
  const std::string what = "tensor '" + t.name + "'";
  uint64_t n = 1;
  for (uint64_t d : t.dims) {
    if (d == 0 || d > max_elements / n)
      c.fail(what + " has invalid dimension " + std::to_string(d));
    n *= d;
  }
  const uint32_t type_id = uint32_t(t.type);
  if (!is_known(t.type))
    c.fail(what + " has unknown type " + std::to_string(type_id));
  if (!is_supported(t.type))
    c.fail(what + " has type " + type_name(t.type) + " (" + std::to_string(type_id) +
           "), which is not supported (supported: " + supported_type_names() + ")");
  const uint32_t bs = block_size(t.type);
  if (t.dims[0] % bs != 0)
    c.fail(what + " has rows of " + std::to_string(t.dims[0]) + " elements, not a multiple of the " +
           type_name(t.type) + " block size " + std::to_string(bs));
  if (t.offset % h.alignment != 0)
    c.fail(what + " data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
           std::to_string(h.alignment));
  // Unsigned 128-bit arithmetic: offsets read from a corrupt file may be near 2^64.
  const unsigned __int128 end = (unsigned __int128)h.data_offset + t.offset + row_bytes(t.type, n);
  if (end > c.size)
    c.fail(what + " data ends at byte " + to_string(end) + " but the file has " + std::to_string(c.size) +
           " bytes");
}

} // namespace

parsed_header parse_header(const uint8_t* data, uint64_t size, const std::string& path) {
  cursor c{data, size, 0, path};
  parsed_header h;
  if (size < 4 || std::memcmp(data, "GGUF", 4) != 0)
    c.fail(size < 4 ? "file is too small to be GGUF (" + std::to_string(size) + " bytes)"
                    : "bad magic: not a GGUF file");
  c.pos = 4;
  h.version = c.get<uint32_t>("version");
  if ((h.version & 0xFFFF) == 0 && h.version != 0)
    c.fail("big-endian GGUF files are not supported");
  if (h.version != 2 && h.version != 3)
    c.fail("GGUF version " + std::to_string(h.version) + " is not supported (only 2 and 3)");
  const uint64_t n_tensors = c.get<uint64_t>("tensor count"); // checked once the metadata is read
  const uint64_t n_kv = read_count(c, "metadata count", min_kv_bytes);
  read_metadata(c, n_kv, h);
  h.alignment = read_alignment(c, h);

  if (n_tensors > c.remaining() / min_tensor_bytes)
    c.fail("tensor count " + std::to_string(n_tensors) +
           " is more than the rest of the file can hold (truncated or corrupt)");
  h.tensors.reserve(n_tensors);
  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    h.tensors.push_back(read_tensor_info(c, i));
    if (!names.insert(h.tensors.back().name).second)
      c.fail("duplicate tensor name '" + h.tensors.back().name + "'");
  }
  // The data section starts at the next multiple of the alignment after the table.
  h.data_offset = (c.pos + h.alignment - 1) / h.alignment * h.alignment;
  for (const auto& t : h.tensors)
    check_tensor(c, t, h);
  return h;
}

} // namespace llamps::gguf
