// The lines of an events file, cut from large reads: std::getline copied every line into a
// string and cost as much as decoding the event. Standard input may trickle (a live producer
// on a pipe), so it is read line by line, each line handed on as soon as it is complete.
#ifndef TAKT_ENGINE_HARNESS_LINE_READER_H_
#define TAKT_ENGINE_HARNESS_LINE_READER_H_

#include <istream>
#include <string>
#include <string_view>

namespace takt::sim {

class LineReader {
 public:
  enum class Reads { kWhole, kLineByLine };
  LineReader(std::istream& in, Reads reads) : in_(in), reads_(reads) {}

  // The next line, without its newline, valid until the next call; false at the end of the
  // input (or on a read error: bad()). `unterminated`: the line is the input's last and has no
  // newline (it may still be being written).
  bool Next(std::string_view& line, bool& unterminated);

  bool bad() const { return in_.bad(); }

 private:
  std::istream& in_;
  const Reads reads_;
  std::string buffer_;  // kWhole: [begin_, end_) is read and not yet handed on
  size_t begin_ = 0;
  size_t end_ = 0;
  bool ended_ = false;
};

}  // namespace takt::sim

#endif  // TAKT_ENGINE_HARNESS_LINE_READER_H_
