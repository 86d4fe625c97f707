#include "records.h"

#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "decode.h"

namespace netqos {

namespace {

struct KeysHash {
  size_t operator()(const std::vector<uint32_t>& keys) const {
    size_t h = keys.size();
    for (uint32_t k : keys) h = h * 1000003u ^ k;
    return h;
  }
};

// Field names and shapes, numbered once per process (decoders run on any thread).
struct Registry {
  std::mutex mutex;
  std::vector<std::string> keys;
  std::unordered_map<std::string, uint32_t> key_numbers;
  std::vector<std::vector<uint32_t>> shapes;
  std::unordered_map<std::vector<uint32_t>, uint32_t, KeysHash> shape_numbers;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: writers may run while the process exits
  return *r;
}

// The number of a field name. Names are string literals, so each thread remembers them by
// address, in a table probed linearly (two names whose addresses hash alike must not evict each
// other: each eviction costs a lookup under the lock).
uint32_t key_number(const char* name) {
  struct Slot {
    const char* name = nullptr;
    uint32_t number = 0;
  };
  constexpr size_t kSlots = 512;  // far more than there are field names
  thread_local Slot cache[kSlots];
  size_t at = (reinterpret_cast<uintptr_t>(name) * 0x9E3779B97F4A7C15ull) >> 55;
  for (size_t probes = 0; probes < kSlots; probes++, at = (at + 1) % kSlots) {
    if (cache[at].name == name) return cache[at].number;
    if (!cache[at].name) break;
  }
  Registry& r = registry();
  uint32_t number;
  {
    std::lock_guard<std::mutex> guard(r.mutex);
    auto found = r.key_numbers.find(name);
    if (found == r.key_numbers.end()) {
      found = r.key_numbers.emplace(name, static_cast<uint32_t>(r.keys.size())).first;
      r.keys.emplace_back(name);
    }
    number = found->second;
  }
  if (!cache[at].name) cache[at] = {name, number};  // (a full table just stops caching)
  return number;
}

uint32_t shape_number(const std::vector<uint32_t>& keys) {
  thread_local std::unordered_map<std::vector<uint32_t>, uint32_t, KeysHash> cache;
  auto known = cache.find(keys);
  if (known != cache.end()) return known->second;
  Registry& r = registry();
  std::lock_guard<std::mutex> guard(r.mutex);
  auto found = r.shape_numbers.find(keys);
  if (found == r.shape_numbers.end()) {
    found = r.shape_numbers.emplace(keys, static_cast<uint32_t>(r.shapes.size())).first;
    r.shapes.push_back(keys);
  }
  cache.emplace(keys, found->second);
  return found->second;
}

}  // namespace

void release_memory(size_t bytes) {
#ifdef __GLIBC__
  if (bytes >= (4u << 20)) malloc_trim(0);
#else
  (void)bytes;
#endif
}

void ValueBuffer::reserve(size_t n) {
  if (n <= capacity_) return;
  void* grown = std::realloc(data_, n * sizeof(double));
  if (!grown) throw std::bad_alloc();
  data_ = static_cast<double*>(grown);
  capacity_ = n;
}

namespace {

// Buffers of finished streams, for the next ones (a few, of a bounded size: a handle's reads
// mostly come one after another). Never destroyed: a stream may end while the process exits.
struct SpareBuffers {
  std::mutex mutex;
  std::vector<std::pair<ValueBuffer, std::string>> buffers;
};
SpareBuffers& spares() {
  static SpareBuffers* s = new SpareBuffers();
  return *s;
}
constexpr size_t kSpareBuffers = 2;
constexpr size_t kSpareValues = 512 * 1024;  // 4 MiB: a read of a thousand pods fits
constexpr size_t kSpareStrings = 1 << 20;

}  // namespace

RecordStream::RecordStream() {
  SpareBuffers& s = spares();
  std::lock_guard<std::mutex> guard(s.mutex);
  if (s.buffers.empty()) return;
  values = std::move(s.buffers.back().first);
  strings = std::move(s.buffers.back().second);
  s.buffers.pop_back();
}

RecordStream::~RecordStream() {
  if (values.capacity() <= kSpareValues && strings.capacity() <= kSpareStrings) {
    values.clear();
    strings.clear();
    SpareBuffers& s = spares();
    std::lock_guard<std::mutex> guard(s.mutex);
    if (s.buffers.size() < kSpareBuffers) {
      s.buffers.emplace_back(std::move(values), std::move(strings));
      return;
    }
  }
  size_t bytes = values.capacity() * sizeof(double) + strings.capacity();
  values = ValueBuffer();
  strings = std::string();
  release_memory(bytes);
}

size_t shape_count() {
  Registry& r = registry();
  std::lock_guard<std::mutex> guard(r.mutex);
  return r.shapes.size();
}

ShapeFields shape_fields(size_t shape) {
  Registry& r = registry();
  std::lock_guard<std::mutex> guard(r.mutex);
  ShapeFields out;
  for (uint32_t field : r.shapes.at(shape)) {
    out.keys.push_back(r.keys[field >> 3]);
    out.types.push_back(static_cast<FieldType>(field & 7));
  }
  return out;
}

void RecordStream::begin_segment(uint32_t request) {
  if (values.capacity() == 0) values.reserve(1024);  // one allocation for a small read
  if (in_segment_) end_segment();
  segment_start_ = values.size();
  values.push_back(kSegment);
  values.push_back(request);
  values.push_back(0);
  in_segment_ = true;
}

void RecordStream::end_segment() {
  if (!in_segment_) return;
  while (depth_ > 0) close_level();
  in_segment_ = false;
  size_t length = values.size() - segment_start_ - 3;
  if (length == 0) {
    values.resize(segment_start_);
    return;
  }
  values[segment_start_ + 2] = static_cast<double>(length);
  segment_headers_.push_back(segment_start_);
}

void RecordStream::drop(uint32_t request) {
  if (in_segment_ && values[segment_start_ + 1] == request) {
    depth_ = 0;
    values.resize(segment_start_ + 3);
  }
  for (size_t at : segment_headers_)
    if (values[at + 1] == request) values[at + 1] = kDropped;
}

uint32_t RecordStream::intern(const char* s, size_t len) {
  // Short strings repeat (kinds, handles, parents, directions): each once. Longer ones are
  // mostly names, addresses and cookies, each its own: added without a lookup.
  if (len > kInternedLength) {
    strings.append(s, len);
    strings.push_back('\0');
    return string_count_++;
  }
  uint64_t hash = 14695981039346656037ull;  // FNV-1a
  for (size_t i = 0; i < len; i++) hash = (hash ^ static_cast<uint8_t>(s[i])) * 1099511628211ull;
  if (string_count_ * 2 >= string_slots_.size()) {
    // Grow (and start): at most half full.
    std::vector<StringSlot> old = std::move(string_slots_);
    string_slots_.assign(old.empty() ? 32 : old.size() * 2, StringSlot{});
    for (const StringSlot& slot : old) {
      if (slot.index == ~0u) continue;
      size_t at = slot.hash & (string_slots_.size() - 1);
      while (string_slots_[at].index != ~0u) at = (at + 1) & (string_slots_.size() - 1);
      string_slots_[at] = slot;
    }
  }
  size_t mask = string_slots_.size() - 1;
  size_t at = hash & mask;
  for (;; at = (at + 1) & mask) {
    StringSlot& slot = string_slots_[at];
    if (slot.index == ~0u) break;
    if (slot.hash == hash && slot.length == len && std::memcmp(strings.data() + slot.offset, s, len) == 0)
      return slot.index;
  }
  string_slots_[at] = {hash, static_cast<uint32_t>(strings.size()), static_cast<uint32_t>(len),
                       string_count_};
  strings.append(s, len);
  strings.push_back('\0');
  return string_count_++;
}

void RecordStream::open_level(uint64_t owner) {
  if (levels_.size() <= depth_) levels_.resize(depth_ + 1);
  Level& l = levels_[depth_++];
  l.keys.clear();
  l.shape_at = values.size();
  values.push_back(0);  // the shape's number, once known
  l.open_array = ~0u;
  l.owner = owner;
}

uint32_t RecordStream::shape_of(size_t depth, const std::vector<uint32_t>& keys) {
  if (depth > kRecentDepths) return shape_number(keys);
  RecentShape* recent = recent_[depth - 1];
  for (size_t i = 0; i < kRecentShapes; i++)
    if (recent[i].shape != ~0u && recent[i].keys == keys) return recent[i].shape;
  RecentShape& slot = recent[recent_next_[depth - 1]++ % kRecentShapes];
  slot.keys = keys;
  slot.shape = shape_number(keys);
  return slot.shape;
}

void RecordStream::close_level() {
  Level& l = levels_[depth_ - 1];
  values[l.shape_at] = shape_of(depth_, l.keys);
  l.owner = 0;
  depth_--;
}

RecordWriter::RecordWriter(RecordStream& stream, bool stats) : RecordWriter(stream, stats, 1) {}

RecordWriter::RecordWriter(RecordStream& stream, bool stats, size_t depth)
    : s_(stream), stats_(stats), depth_(depth), owner_(stream.next_owner()) {
  // A top-level object: whatever another top-level writer left open ends first.
  if (depth == 1)
    while (s_.depth() > 0) s_.close_level();
  start_ = s_.values.size();
  s_.open_level(owner_);
}

RecordWriter::~RecordWriter() { finish(); }

bool RecordWriter::live() const { return s_.depth() >= depth_ && s_.level(depth_).owner == owner_; }

void RecordWriter::finish() {
  if (!live()) return;
  while (s_.depth() >= depth_) s_.close_level();
}

void RecordWriter::discard() {
  if (depth_ != 1) return finish();  // a child's key is in its parent already
  if (!live()) return;
  while (s_.depth() >= depth_) s_.close_level();
  s_.values.resize(start_);
}

bool RecordWriter::field(const char* name, FieldType type) {
  if (!live()) return false;
  while (s_.depth() > depth_) s_.close_level();
  uint32_t key = key_number(name) << 3 | type;
  RecordStream::Level& level = s_.level(depth_);
  if (type == kArray && level.open_array == key) {
    s_.values[level.count_at]++;  // one more element of it
    return true;
  }
  level.open_array = ~0u;
  level.keys.push_back(key);
  if (type == kArray) {
    level.open_array = key;
    level.count_at = s_.values.size();
    s_.values.push_back(1);
  }
  return true;
}

void RecordWriter::number(const char* name, double v) {
  if (field(name, kNumber)) s_.values.push_back(v);
}

void RecordWriter::set_bool(const char* name, bool v) {
  if (field(name, kBool)) s_.values.push_back(v ? 1 : 0);
}

void RecordWriter::set_string(const char* name, const std::string& v) {
  if (field(name, kString)) s_.values.push_back(s_.intern(v));
}

void RecordWriter::set_strings(const char* name, const std::vector<std::string>& v) {
  if (!field(name, kStrings)) return;
  s_.values.push_back(static_cast<double>(v.size()));
  for (const std::string& one : v) s_.values.push_back(s_.intern(one));
}

void RecordWriter::set_numbers(const char* name, const std::vector<double>& v) {
  if (!field(name, kNumbers)) return;
  s_.values.push_back(static_cast<double>(v.size()));
  for (double d : v) s_.values.push_back(d);
}

std::unique_ptr<FieldWriter> RecordWriter::object(const char* name) {
  if ((!stats_ && std::strcmp(name, "stats") == 0) || !field(name, kObject))
    return std::make_unique<NullWriter>();
  return std::unique_ptr<FieldWriter>(new RecordWriter(s_, stats_, depth_ + 1));
}

std::unique_ptr<FieldWriter> RecordWriter::append(const char* name) {
  if (!field(name, kArray)) return std::make_unique<NullWriter>();
  return std::unique_ptr<FieldWriter>(new RecordWriter(s_, stats_, depth_ + 1));
}

RecordSink::RecordSink(RecordStream& stream, const std::vector<DumpRequest>& requests)
    : s_(stream), requests_(requests) {
  // A read of a whole namespace: room to start with (reserved, not touched: only what is
  // written costs pages), so the stream is not copied again and again as it grows.
  for (const DumpRequest& r : requests) {
    if (r.get() || (r.per_interface() && requests.size() < 64)) continue;
    s_.values.reserve(1 << 16);
    s_.strings.reserve(1 << 16);
    break;
  }
}

void RecordSink::message(size_t request, const nlmsghdr* nlh) {
  if (current_ != request) {
    s_.begin_segment(static_cast<uint32_t>(request));
    current_ = request;
  }
  RecordWriter w(s_, requests_[request].stats);
  if (!decode_reply(requests_[request], nlh, w)) w.discard();
}

void RecordSink::restart(size_t request) {
  s_.end_segment();
  current_ = SIZE_MAX;
  s_.drop(static_cast<uint32_t>(request));
}

}  // namespace netqos
