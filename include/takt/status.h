// Status and Result<T>: how every fallible call across a layer or the public API reports
// failure. Expected outcomes (a duplicate event, an ownership violation) are values, not
// errors: see Outcome in engine.h.
#ifndef TAKT_STATUS_H_
#define TAKT_STATUS_H_

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace takt {

enum class Code : uint8_t {
  kOk,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kParseError,
  kRuleError,
  kLimitExceeded,
  kIoError,
  kCorruption,
};

// Ok, or a code plus a message naming the object ("workflows/po.takt:3:7: unknown state").
class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  static Status InvalidArgument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {Code::kAlreadyExists, std::move(msg)}; }
  static Status ParseError(std::string msg) { return {Code::kParseError, std::move(msg)}; }
  static Status RuleError(std::string msg) { return {Code::kRuleError, std::move(msg)}; }
  static Status LimitExceeded(std::string msg) { return {Code::kLimitExceeded, std::move(msg)}; }
  static Status IoError(std::string msg) { return {Code::kIoError, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A T or a non-ok Status (std::expected is C++23; we build as C++17).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                                  // NOLINT
  Result(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace takt

#define TAKT_RETURN_IF_ERROR(expr)            \
  do {                                        \
    ::takt::Status takt_status_ = (expr);     \
    if (!takt_status_.ok()) return takt_status_; \
  } while (false)

#endif  // TAKT_STATUS_H_
