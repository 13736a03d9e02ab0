# takt_warnings: an interface target every takt library and program links PRIVATE.
add_library(takt_warnings INTERFACE)
target_compile_options(takt_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
  -Wnon-virtual-dtor -Woverloaded-virtual)
if(TAKT_WERROR)
  target_compile_options(takt_warnings INTERFACE -Werror)
endif()
if(TAKT_SANITIZE)
  target_compile_options(takt_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                 -fno-sanitize-recover=undefined)
  target_link_options(takt_warnings INTERFACE -fsanitize=address,undefined)
endif()
if(TAKT_SANITIZE_THREAD)
  target_compile_options(takt_warnings INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(takt_warnings INTERFACE -fsanitize=thread)
endif()
if(TAKT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TAKT_FUZZ needs clang (libFuzzer): configure with CXX=clang++")
  endif()
  # Coverage for libFuzzer in every object; the fuzz targets link the fuzzer itself.
  target_compile_options(takt_warnings INTERFACE -fsanitize=fuzzer-no-link)
endif()
