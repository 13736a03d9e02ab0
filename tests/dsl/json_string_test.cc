// dsl::AppendJsonString: every string takt writes into JSON (commands' payloads, reports, the
// audit's details) goes through it. What a reader of those relies on: quotes, backslashes and
// control characters escaped, everything else (UTF-8 included) as it is, and what was in the
// buffer before left alone.
#include <gtest/gtest.h>

#include <string>

#include "dsl/value.h"

namespace takt::dsl {
namespace {

std::string Quoted(std::string_view text, std::string before = "") {
  AppendJsonString(before, text);
  return before;
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControlCharactersOnly) {
  EXPECT_EQ(Quoted(""), R"("")");
  EXPECT_EQ(Quoted("A07"), R"("A07")");
  EXPECT_EQ(Quoted("say \"hi\""), R"("say \"hi\"")");
  EXPECT_EQ(Quoted("C:\\tmp\\"), R"("C:\\tmp\\")");
  EXPECT_EQ(Quoted("a\nb\rc\td"), R"("a\nb\rc\td")");
  EXPECT_EQ(Quoted(std::string("\x01\x1f\x08\x0c", 4)), R"("\u0001\u001f\u0008\u000c")");
  EXPECT_EQ(Quoted(std::string("a\0b", 3)), R"("a\u0000b")");
  EXPECT_EQ(Quoted("\x7f"), "\"\x7f\"");                      // DEL needs no escape
  EXPECT_EQ(Quoted("L\xc3\xa4rm"), "\"L\xc3\xa4rm\"");        // UTF-8 as it is
  EXPECT_EQ(Quoted("\"\\\n"), R"("\"\\\n")");                 // escapes only, back to back
  EXPECT_EQ(Quoted("xy\"", "{\"k\":"), R"({"k":"xy\"")");     // appended to what was there
}

}  // namespace
}  // namespace takt::dsl
