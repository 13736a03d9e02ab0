// A recursive-descent reader of the plain subset, declining at the first thing outside it. It
// accepts only what simdjson accepts and reads every value as simdjson does: integers as
// get_int64() (no fraction or exponent, no leading zeros), floats correctly rounded as
// get_double() (std::from_chars, also correctly rounded), strings byte for byte.
#include "engine/event/decode_plain.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace takt {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

void SkipSpace(const char*& p) {
  // Plain events seldom have whitespace between tokens: one comparison passes over none.
  if (static_cast<unsigned char>(*p) > ' ') return;
  while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') ++p;
}

// The offset of the first byte from `p` on that ends a plain string's scan: a quote, a
// backslash, a control character (DEL too) or a byte above 0x7F. Reads 16 bytes at a time with
// SSE2 (one signed comparison finds both the bytes below 0x20 and those above 0x7F), one
// without. Since no plain string holds a control character, the envelope's names need no
// check for one (EnvelopeInRange()).
#if defined(__SSE2__)
inline size_t FirstStop(const char* p) {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7F);
  for (size_t at = 0;; at += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at));
    const __m128i stops = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
        _mm_or_si128(_mm_cmplt_epi8(x, space), _mm_cmpeq_epi8(x, del)));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(stops));
    if (mask != 0) return at + static_cast<size_t>(__builtin_ctz(mask));
  }
}
#else
inline size_t FirstStop(const char* p) {
  for (size_t at = 0;; ++at) {
    const auto u = static_cast<unsigned char>(p[at]);
    if (u == '"' || u == '\\' || u < 0x20 || u >= 0x7F) return at;
  }
}
#endif

// A string at `p` (its opening quote), printable ASCII, no escapes.
inline bool String(const char*& p, std::string_view& out) {
  if (*p != '"') return false;
  const char* const begin = p + 1;
  p = begin + FirstStop(begin);
  if (*p != '"') return false;
  out = std::string_view(begin, static_cast<size_t>(p - begin));
  ++p;
  return true;
}

// An integer's digits one at a time, at most 18 (more could overflow): a number that does not
// start with 0 reaches 10^17 at its 18th digit.
inline void DigitsOneAtATime(const char*& end, uint64_t& value) {
  while (IsDigit(*end) && value < 100000000000000000ULL) {
    value = value * 10 + static_cast<uint64_t>(*end++ - '0');
  }
}

#if defined(__SSE2__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
// The number of digits from `p` on, up to 16 (16: maybe more).
inline size_t DigitRun(const char* p) {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i not_digit = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8('0')),
                                         _mm_cmpgt_epi8(x, _mm_set1_epi8('9')));
  return static_cast<size_t>(
      __builtin_ctz(static_cast<unsigned>(_mm_movemask_epi8(not_digit)) | 0x10000u));
}

// The value of the `n` digits at `p`, 1 to 8, read as one 8-byte word: the digits are moved to
// its top so that the bytes after them fall out, and three multiplications add them up
// (simdjson's parse_eight_digits_unrolled).
inline uint64_t DigitsValue(const char* p, size_t n) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  // A byte after the digits may borrow from those above it, which are all after the digits too.
  x = (x - 0x3030303030303030ULL) << (8 * (8 - n));
  constexpr uint64_t kMask = 0x000000FF000000FFULL;
  constexpr uint64_t kMul1 = 100 + (1000000ULL << 32);
  constexpr uint64_t kMul2 = 1 + (10000ULL << 32);
  x = (x * 10) + (x >> 8);
  return (((x & kMask) * kMul1) + (((x >> 16) & kMask) * kMul2)) >> 32;
}

// An integer's digits, at most 18 (more could overflow): up to 16 read eight at a time.
inline void Digits(const char*& end, uint64_t& value) {
  const size_t n = DigitRun(end);
  if (n == 0 || n >= 16) {  // none, or 16 and maybe more
    DigitsOneAtATime(end, value);
    return;
  }
  value = n > 8 ? DigitsValue(end, n - 8) * 100000000 + DigitsValue(end + n - 8, 8)
                : DigitsValue(end, n);
  end += n;
}
#else
inline void Digits(const char*& end, uint64_t& value) { DigitsOneAtATime(end, value); }
#endif

// An integer as simdjson's get_int64() reads it, up to 18 digits (more could overflow; the
// general decoder reads them). Reads up to 16 bytes from `p` on: the text's padding.
bool Integer(const char*& p, int64_t& out) {
  const bool negative = *p == '-';
  const char* digits = p + (negative ? 1 : 0);
  if (!IsDigit(*digits)) return false;
  const char* end = digits;
  uint64_t value = 0;  // 18 digits cannot overflow
  Digits(end, value);
  if (IsDigit(*end) || (end - digits > 1 && *digits == '0')) return false;
  if (*end == '.' || *end == 'e' || *end == 'E') return false;  // a float
  out = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
  p = end;
  return true;
}

// The end of a JSON number at `p`: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; null when
// what is there is not one.
const char* NumberEnd(const char* p) {
  if (*p == '-') ++p;
  if (*p == '0') {
    ++p;
  } else if (IsDigit(*p)) {
    while (IsDigit(*p)) ++p;
  } else {
    return nullptr;
  }
  if (*p == '.') {
    if (!IsDigit(*++p)) return nullptr;
    while (IsDigit(*p)) ++p;
  }
  if (*p == 'e' || *p == 'E') {
    ++p;
    if (*p == '+' || *p == '-') ++p;
    if (!IsDigit(*p)) return nullptr;
    while (IsDigit(*p)) ++p;
  }
  return p;
}

// A number read as a finite double, as simdjson's get_double() reads it.
bool Float(const char*& p, double& out) {
  const char* end = NumberEnd(p);
  if (end == nullptr) return false;
  const auto [ptr, ec] = std::from_chars(p, end, out);
  if (ec != std::errc() || ptr != end || !std::isfinite(out)) return false;
  p = end;
  return true;
}

bool Literal(const char*& p, const char* word, size_t size) {
  if (std::memcmp(p, word, size) != 0) return false;
  p += size;
  return true;
}

// A value of a field the schema does not declare, passed over: a scalar, as plain as the rest.
bool SkipScalar(const char*& p) {
  std::string_view ignored;
  switch (*p) {
    case '"': return String(p, ignored);
    case 't': return Literal(p, "true", 4);
    case 'f': return Literal(p, "false", 5);
    case 'n': return Literal(p, "null", 4);
    default: {
      const char* end = NumberEnd(p);
      if (end == nullptr) return false;
      p = end;
      return true;
    }
  }
}

bool FieldValue(const char*& p, const dsl::FieldDef& def, dsl::Value& out) {
  using dsl::Type;
  if (*p == 'n') {
    if (!def.optional || !Literal(p, "null", 4)) return false;
    out = dsl::Value::Null();
    return true;
  }
  switch (def.type) {
    case Type::kString: {
      std::string_view s;
      if (!String(p, s)) return false;
      out.type = Type::kString;
      out.s.assign(s.data(), s.size());
      return true;
    }
    case Type::kInt:
      if (!Integer(p, out.i)) return false;
      out.type = Type::kInt;
      return !def.has_range || (out.i >= def.min && out.i <= def.max);
    case Type::kFloat:
      if (!Float(p, out.f)) return false;
      out.type = Type::kFloat;
      return true;
    case Type::kBool:
      if (Literal(p, "true", 4)) {
        out.b = true;
      } else if (Literal(p, "false", 5)) {
        out.b = false;
      } else {
        return false;
      }
      out.type = Type::kBool;
      return true;
    case Type::kNull: return false;
  }
  return false;
}

// After a member: a comma and the next member's start, or the object's end (`done`).
bool NextMember(const char*& p, bool& done) {
  SkipSpace(p);
  if (*p == '}') {
    ++p;
    done = true;
    return true;
  }
  if (*p != ',') return false;
  ++p;
  SkipSpace(p);
  return true;
}

// A member's name and the colon after it.
bool MemberName(const char*& p, std::string_view& name) {
  if (!String(p, name)) return false;
  SkipSpace(p);
  if (*p != ':') return false;
  ++p;
  SkipSpace(p);
  return true;
}

// An object's opening brace and the whitespace after it; `done` when the object is empty (its
// closing brace passed too).
bool OpenObject(const char*& p, bool& done) {
  if (*p != '{') return false;
  ++p;
  SkipSpace(p);
  done = *p == '}';
  if (done) ++p;
  return true;
}

// The data object at `p`, against the schema of `def`.
bool Data(const char*& p, const dsl::EventDef& def, Event& out) {
  bool done = false;
  if (!OpenObject(p, done)) return false;
  out.fields.resize(def.fields.size());
  uint64_t seen = 0;  // bit i: field i was present
  size_t expected = 0;  // fields tend to come in the schema's order: this one is tried first
  while (!done) {
    std::string_view name;
    if (!MemberName(p, name)) return false;
    const int index = expected < def.fields.size() && def.fields[expected].name == name
                          ? static_cast<int>(expected)
                          : def.FieldIndex(name);
    expected = static_cast<size_t>(index) + 1;
    if (index < 0 || index >= 64) {
      if (!SkipScalar(p)) return false;
    } else {
      const auto i = static_cast<size_t>(index);
      if ((seen >> i & 1) != 0) return false;
      if (!FieldValue(p, def.fields[i], out.fields[i])) return false;
      seen |= uint64_t{1} << i;
    }
    if (!NextMember(p, done)) return false;
  }
  for (size_t i = 0; i < def.fields.size(); ++i) {
    if ((seen >> i & 1) != 0) continue;
    if (!def.fields[i].optional) return false;
    out.fields[i] = dsl::Value::Null();
  }
  return true;
}

enum EnvelopeMember : unsigned {
  kId = 1, kSource = 2, kType = 4, kKey = 8, kSeq = 16, kTs = 32, kData = 64, kNone = 0
};

// Which member of the envelope `name` is; the comparisons of a fixed length compile to one or
// two of integers.
EnvelopeMember EnvelopeMemberNamed(std::string_view name) {
  const char* n = name.data();
  switch (name.size()) {
    case 2:
      if (std::memcmp(n, "id", 2) == 0) return kId;
      return std::memcmp(n, "ts", 2) == 0 ? kTs : kNone;
    case 3:
      if (std::memcmp(n, "key", 3) == 0) return kKey;
      return std::memcmp(n, "seq", 3) == 0 ? kSeq : kNone;
    case 4:
      if (std::memcmp(n, "type", 4) == 0) return kType;
      return std::memcmp(n, "data", 4) == 0 ? kData : kNone;
    case 6: return std::memcmp(n, "source", 6) == 0 ? kSource : kNone;
    default: return kNone;
  }
}

}  // namespace

bool DecodePlain(std::string_view text, const dsl::Catalog& catalog, const EventTypeIndex& types,
                 Event& out) {
  const char* p = text.data();
  SkipSpace(p);
  bool done = false;
  if (!OpenObject(p, done)) return false;
  unsigned seen = 0;  // an empty object misses every field: declined below
  while (!done) {
    std::string_view name;
    if (!MemberName(p, name)) return false;
    const EnvelopeMember bit = EnvelopeMemberNamed(name);
    bool ok = false;
    switch (bit) {
      case kId: ok = String(p, out.id); break;
      case kSource: ok = String(p, out.source); break;
      case kType: ok = String(p, out.type); break;
      case kKey: ok = String(p, out.key); break;
      case kSeq: ok = Integer(p, out.seq); break;
      case kTs: ok = Integer(p, out.ts); break;
      case kData:
        if ((seen & kType) == 0) break;  // data before type: the general decoder's case
        out.type_id = types.Find(out.type);
        ok = out.type_id >= 0 && Data(p, catalog.events[static_cast<size_t>(out.type_id)], out);
        break;
      case kNone: break;
    }
    if (!ok || (seen & bit) != 0) return false;
    seen |= bit;
    if (!NextMember(p, done)) return false;
  }
  SkipSpace(p);
  return p == text.data() + text.size() && seen == 127;
}

}  // namespace takt
