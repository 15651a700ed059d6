/* bsd_ext.h - included first, before any system header, by a file that
 * needs calls beyond POSIX 2008 that the BSDs, macOS and glibc all have
 * (MAP_ANONYMOUS, wait4, timegm, setgroups, mincore, ...): the build
 * defines _POSIX_C_SOURCE, which hides them unless the C library's own
 * switch is on too: _DEFAULT_SOURCE for glibc, _DARWIN_C_SOURCE for macOS.
 * The file names what it needs where it includes this. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#ifndef _DARWIN_C_SOURCE
#define _DARWIN_C_SOURCE 1
#endif
