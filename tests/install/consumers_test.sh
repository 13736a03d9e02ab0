#!/usr/bin/env bash
# Installs takt into a fresh prefix with `cmake --install`, then builds the embedding examples
# out of tree against what was installed, the way a user would (find_package for C++, static
# and shared; pkg-config for C; ctypes for Python), runs each on the recorded plant stream, and
# checks that each delivers exactly the commands of the example's report, once.
#   consumers_test.sh BUILD_DIR SOURCE_DIR WORK_DIR [SANITIZER_FLAGS]
set -euo pipefail
build=$1 src=$2 work=$3 sanitize=${4:-}
rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix
events=$src/examples/plant/events.jsonl
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in include/takt/engine.h include/takt/takt.h include/takt/export.h lib/libtakt.a \
         lib/libtakt.so lib/libtakt.so.0.1 lib/libtakt.so.0.1.0 lib/cmake/takt/takt-config.cmake \
         lib/cmake/takt/takt-config-version.cmake lib/pkgconfig/takt.pc bin/takt; do
  [ -e "$prefix/$f" ] || fail "$f was not installed"
done
readelf -d "$prefix/lib/libtakt.so.0.1.0" | grep -q 'SONAME.*\[libtakt\.so\.0\.1\]' || fail "SONAME is not libtakt.so.0.1"
# The installed command finds the installed library by its RPATH, with nothing in the environment.
[ "$(env -u LD_LIBRARY_PATH "$prefix/bin/takt" --version)" = "takt 0.1.0" ] || fail "installed takt does not run"

# The commands of the report, in emission order: "name cause" per line.
python3 - "$src/examples/plant/report.json" >"$work/expected" <<'PY'
import json, sys
for c in json.load(open(sys.argv[1]))["commands"]:
    print(c["cmd"], c["cause"])
PY
[ "$(wc -l <"$work/expected")" -gt 0 ] || fail "the report has no commands"
# The same for what a consumer delivered (JSON Lines with name and caused_by).
delivered() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    c = json.loads(line)
    print(c["name"], c["caused_by"])' "$1"
}
same_as_report() {  # NAME FILE
  delivered "$2" >"$2.commands"
  diff -u "$work/expected" "$2.commands" >&2 || fail "$1 delivered other commands than the report lists"
  echo "$1: $(wc -l <"$2.commands") commands, as in the report"
}
nothing_again() {  # NAME FILE
  [ ! -s "$2" ] || fail "$1 delivered again on a second run: $(head -n 3 "$2")"
  echo "$1: second run on the same input delivers nothing"
}

cxx_flags=() c_flags=""
if [ -n "$sanitize" ]; then
  cxx_flags=(-DCMAKE_CXX_FLAGS="$sanitize" -DCMAKE_EXE_LINKER_FLAGS="$sanitize")
  c_flags="$sanitize"
fi

for linkage in shared static; do
  echo "== C++ with find_package(takt), $linkage"
  static=OFF; [ $linkage = static ] && static=ON
  cmake -S "$src/examples/embed/cpp" -B "$work/cpp-$linkage" -DCMAKE_PREFIX_PATH="$prefix" \
    -DTAKT_LINK_STATIC=$static -DCMAKE_BUILD_TYPE=Release "${cxx_flags[@]}" >"$work/cpp-$linkage.log"
  cmake --build "$work/cpp-$linkage" >>"$work/cpp-$linkage.log" 2>&1 || { cat "$work/cpp-$linkage.log" >&2; fail "C++ $linkage consumer does not build"; }
  program=$work/cpp-$linkage/order_service
  if [ $linkage = static ]; then
    ! readelf -d "$program" | grep -q libtakt || fail "the static consumer needs libtakt.so"
  else
    readelf -d "$program" | grep -q 'NEEDED.*libtakt\.so\.0\.1\]' || fail "the shared consumer does not link libtakt.so.0.1"
  fi
  args=(--workflows "$src/workflows" --rules "$src/rules" --db "$work/cpp-$linkage.db")
  "$program" "${args[@]}" <"$events" >"$work/cpp-$linkage.out"
  same_as_report "C++ $linkage" "$work/cpp-$linkage.out"
  "$program" "${args[@]}" <"$events" >"$work/cpp-$linkage.again"
  nothing_again "C++ $linkage" "$work/cpp-$linkage.again"
done

echo "== C with pkg-config"
mkdir -p "$work/c"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" make -s -C "$src/examples/embed/c" OUT="$work/c" \
  CFLAGS="-O2 -Wall -Wextra -Werror $c_flags" LDFLAGS="$c_flags" >"$work/c.log" 2>&1 \
  || { cat "$work/c.log" >&2; fail "C consumer does not build"; }
options="{\"workflows\": [\"$src/workflows\"], \"rules_dir\": \"$src/rules\", \"store\": \"$work/c.db\"}"
LD_LIBRARY_PATH="$prefix/lib" "$work/c/order_events" "$options" <"$events" >"$work/c.out"
same_as_report "C" "$work/c.out"
LD_LIBRARY_PATH="$prefix/lib" "$work/c/order_events" "$options" <"$events" >"$work/c.again"
nothing_again "C" "$work/c.again"

echo "== Python with ctypes"
preload=""
if [ -n "$sanitize" ]; then
  # An instrumented libtakt.so in an uninstrumented python3: the sanitizer runtimes go first.
  preload="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
fi
py_args=(--workflows "$src/workflows" --rules "$src/rules" --db "$work/py.db")
run_python() {
  LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 TAKT_LIBRARY="$prefix/lib/libtakt.so.0.1" \
    python3 "$src/examples/embed/python/order_events.py" "${py_args[@]}" <"$events"
}
run_python >"$work/py.out"
same_as_report "Python" "$work/py.out"
run_python >"$work/py.again"
nothing_again "Python" "$work/py.again"
echo "all consumers passed"
