// The lines of an events file as `takt simulate` reads them: every line whole, across reads and
// longer than one, the last one known when it has no newline; the same from a stream read line
// by line (standard input).
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "engine/harness/line_reader.h"

namespace takt::sim {
namespace {

struct Line {
  std::string text;
  bool unterminated;
  bool operator==(const Line& o) const {
    return text == o.text && unterminated == o.unterminated;
  }
};

std::vector<Line> ReadAll(const std::string& input, LineReader::Reads reads) {
  std::istringstream in(input);
  LineReader reader(in, reads);
  std::vector<Line> lines;
  std::string_view line;
  bool unterminated = false;
  while (reader.Next(line, unterminated)) lines.push_back({std::string(line), unterminated});
  EXPECT_FALSE(reader.bad());
  return lines;
}

// Both ways of reading give `expected`.
void ExpectLines(const std::string& input, const std::vector<Line>& expected) {
  EXPECT_EQ(ReadAll(input, LineReader::Reads::kWhole), expected);
  EXPECT_EQ(ReadAll(input, LineReader::Reads::kLineByLine), expected);
}

TEST(LineReaderTest, LinesEmptyLinesAndTheLastLineWithoutANewline) {
  ExpectLines("", {});
  ExpectLines("\n", {{"", false}});
  ExpectLines("a\nb\n", {{"a", false}, {"b", false}});
  ExpectLines("a\n\nb\r\n", {{"a", false}, {"", false}, {"b\r", false}});
  ExpectLines("a\nb", {{"a", false}, {"b", true}});
  ExpectLines(std::string("a\0b\n", 4), {{std::string("a\0b", 3), false}});
}

TEST(LineReaderTest, LinesAcrossReadsAndLongerThanOne) {
  // Lines of every length around the 1 MiB read, and one of 3 MiB.
  std::string input;
  std::vector<Line> expected;
  for (size_t i = 0; input.size() < (size_t{5} << 20); ++i) {
    const size_t length = i % 7 == 0 ? (size_t{3} << 20) + i : 100 + (i * 7919) % 4096;
    std::string text(length, static_cast<char>('a' + i % 26));
    input += text + "\n";
    expected.push_back({std::move(text), false});
  }
  input += "tail";
  expected.push_back({"tail", true});
  ExpectLines(input, expected);
}

}  // namespace
}  // namespace takt::sim
