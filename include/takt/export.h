/* TAKT_API marks what libtakt.so exports. The library is compiled with hidden visibility, so
 * everything else in it (the DSL compiler, the sandbox, the store) stays internal. Included
 * by C (takt.h) as well as C++. */
#ifndef TAKT_EXPORT_H_
#define TAKT_EXPORT_H_

#if defined(__GNUC__) || defined(__clang__)
#define TAKT_API __attribute__((visibility("default")))
#else
#define TAKT_API
#endif

#endif /* TAKT_EXPORT_H_ */
