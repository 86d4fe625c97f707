// Decoded objects on their way to JavaScript: a FieldWriter that appends to one flat stream of
// numbers and one string table instead of building objects through N-API. It needs no Node, so
// a dump decodes on the worker thread that received it; lib/netlink/records.ts then builds the
// objects in JavaScript, each shape (the keys of an object, in order) with one compiled object
// literal, which is many times faster than setting properties one by one through N-API and
// gives objects of one kind one compact layout.
//
// The stream (values), read front to back:
//   kSegment request length   the next `length` values hold objects of reply `request`
//                             (request ~0u: dropped, skip them), one after another
//   an object                 its shape's number, then its fields' values in key order
// A shape is the object's keys in order, each with the type of its value, so the values carry
// no tags: a JavaScript function compiled per shape reads them straight through.
//   kNumber x | kString s | kBool 0/1 | kStrings n s1..sn | kObject (an object) |
//   kArray n (n objects) | kNumbers n x1..xn               (s: a string's index)
// strings: each string of the table followed by a NUL (strings come from C strings, so hold
// none). Shapes are numbered once per process (shape_fields() tells their keys and types), so
// JavaScript compiles each one once.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dump_request.h"
#include "fields.h"
#include "socket.h"

namespace netqos {

// The type of a field's value (lib/netlink/records.ts knows them by these numbers).
enum FieldType : uint8_t { kNumber, kString, kBool, kStrings, kObject, kArray, kNumbers };
// The first value of a segment's header.
constexpr double kSegment = 10;

// Gives the memory allocator's free pages back to the system after `bytes` were freed, when
// that is a lot (a big read's stream): glibc keeps them otherwise, in every thread's arena.
void release_memory(size_t bytes);

// A stream's numbers: a growable array of doubles whose append is inline (the decoders append
// millions) and whose growth is realloc (a large block is moved by remapping, not copied).
class ValueBuffer {
 public:
  ValueBuffer() = default;
  ~ValueBuffer() { std::free(data_); }
  ValueBuffer(ValueBuffer&& o) noexcept : data_(o.data_), size_(o.size_), capacity_(o.capacity_) {
    o.data_ = nullptr;
    o.size_ = o.capacity_ = 0;
  }
  ValueBuffer& operator=(ValueBuffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(capacity_, o.capacity_);
    return *this;
  }
  ValueBuffer(const ValueBuffer&) = delete;
  ValueBuffer& operator=(const ValueBuffer&) = delete;

  void push_back(double v) {
    if (size_ == capacity_) reserve(capacity_ ? capacity_ * 2 : 1024);
    data_[size_++] = v;
  }
  void reserve(size_t n);
  // Shrinks to n values (a stream only ever cuts back what it wrote).
  void resize(size_t n) { size_ = n < size_ ? n : size_; }
  void clear() { size_ = 0; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  double* data() { return data_; }
  const double* data() const { return data_; }
  double& operator[](size_t i) { return data_[i]; }
  double operator[](size_t i) const { return data_[i]; }

 private:
  double* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// How many shapes there are so far, and the keys of shape `shape` (process-wide numbers) with
// the types of their values.
size_t shape_count();
struct ShapeFields {
  std::vector<std::string> keys;
  std::vector<FieldType> types;
};
ShapeFields shape_fields(size_t shape);

class RecordStream {
 public:
  static constexpr uint32_t kDropped = ~0u;
  static constexpr size_t kInternedLength = 10;

  // The buffers of an earlier stream, when one is spare (see the destructor): a read then
  // writes into memory that is mapped already instead of faulting in fresh pages, which on a
  // virtual machine took more time than decoding.
  RecordStream();
  // Keeps the buffers for the next stream unless they are large (then they go back to the
  // system): the values are no longer needed once JavaScript has built its objects.
  ~RecordStream();
  RecordStream(const RecordStream&) = delete;
  RecordStream& operator=(const RecordStream&) = delete;

  ValueBuffer values;
  std::string strings;

  // Starts a segment of reply `request`; objects written until end_segment() belong to it.
  void begin_segment(uint32_t request);
  void end_segment();
  // Drops every segment of reply `request` written so far (a dump read again from its start).
  void drop(uint32_t request);
  bool empty() const { return values.empty(); }

  // Index of a string in the table (each distinct short string once).
  uint32_t intern(const char* s, size_t len);
  uint32_t intern(const std::string& s) { return intern(s.data(), s.size()); }

  // The objects being written, outermost first (see RecordWriter): each one's fields so far
  // (process-wide key numbers, times 8, plus the type), where its shape's number goes, the
  // array field being appended to (if any) and where its length goes, and its writer.
  struct Level {
    std::vector<uint32_t> keys;
    size_t shape_at = 0;
    uint32_t open_array = ~0u;
    size_t count_at = 0;
    uint64_t owner = 0;
  };
  // Opens an object at depth() + 1 for writer `owner`: a place for its shape's number.
  void open_level(uint64_t owner);
  // Closes the innermost object: writes its shape's number in its place.
  void close_level();
  size_t depth() const { return depth_; }
  Level& level(size_t depth) { return levels_[depth - 1]; }
  uint64_t next_owner() { return ++owners_; }

 private:
  // The shape of these keys: one of the last few seen at this depth (objects of a read repeat
  // a few shapes), else the process-wide number.
  uint32_t shape_of(size_t depth, const std::vector<uint32_t>& keys);
  struct RecentShape {
    std::vector<uint32_t> keys;
    uint32_t shape = ~0u;
  };
  static constexpr size_t kRecentShapes = 4;
  static constexpr size_t kRecentDepths = 4;
  RecentShape recent_[kRecentDepths][kRecentShapes];
  uint8_t recent_next_[kRecentDepths] = {};

  // The string table's index: open addressing over (hash, offset in `strings`, length, index),
  // so looking a string up allocates nothing.
  struct StringSlot {
    uint64_t hash = 0;
    uint32_t offset = 0;
    uint32_t length = 0;
    uint32_t index = ~0u;
  };
  std::vector<StringSlot> string_slots_;
  uint32_t string_count_ = 0;
  size_t segment_start_ = 0;  // of the open segment's header, or ~0
  bool in_segment_ = false;
  std::vector<size_t> segment_headers_;
  std::vector<Level> levels_;
  size_t depth_ = 0;
  uint64_t owners_ = 0;
};

// Writes one object (and what nests in it) into a stream. Child writers (object(), append())
// must be done with before their parent is written to again, as every decoder does; if one is
// not, the child's object is closed first, so the stream stays well formed.
class RecordWriter : public FieldWriter {
 public:
  // A top-level object. stats false: "stats" objects are left out.
  RecordWriter(RecordStream& stream, bool stats = true);
  ~RecordWriter() override;
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  // Ends the object (done by the destructor otherwise), or takes it out of the stream again
  // (a message the decoder declined).
  void finish();
  void discard();

  void set_u64(const char* name, uint64_t v) override { number(name, static_cast<double>(v)); }
  void set_i64(const char* name, int64_t v) override { number(name, static_cast<double>(v)); }
  void set_number(const char* name, double v) override { number(name, v); }
  void set_bool(const char* name, bool v) override;
  void set_string(const char* name, const std::string& v) override;
  void set_strings(const char* name, const std::vector<std::string>& v) override;
  void set_numbers(const char* name, const std::vector<double>& v) override;
  std::unique_ptr<FieldWriter> object(const char* name) override;
  std::unique_ptr<FieldWriter> append(const char* name) override;

 private:
  RecordWriter(RecordStream& stream, bool stats, size_t depth);
  // Whether this writer's object is still open (not closed by its own or another's doing).
  bool live() const;
  // Makes this writer's object the innermost open one, closing any child left open; then
  // records the key and its type (an array element: one more element when the array being
  // appended to is this key's, a new array otherwise). False when the writer is not live (the
  // write is dropped).
  bool field(const char* name, FieldType type);
  void number(const char* name, double v);

  RecordStream& s_;
  bool stats_;
  size_t depth_;  // 1 for a top-level object
  uint64_t owner_;
  size_t start_;  // where its values begin, for discard()
};

// Decodes what RouteSocket::read receives into a stream, one segment per run of a request's
// objects, each as that request asked for it (statistics or not, names only).
class RecordSink : public DumpSink {
 public:
  RecordSink(RecordStream& stream, const std::vector<DumpRequest>& requests);
  void message(size_t request, const nlmsghdr* nlh) override;
  void restart(size_t request) override;
  // Ends the last segment: call once every answer is in.
  void finish() { s_.end_segment(); }

 private:
  RecordStream& s_;
  const std::vector<DumpRequest>& requests_;
  size_t current_ = SIZE_MAX;
};

}  // namespace netqos
