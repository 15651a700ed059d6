/* fixtures.h - the deterministic fixture tree the scenarios are checked against.
 *
 * Same bytes on every run and every machine (own PRNG, fixed seeds):
 *   index.html hello.txt a.txt b.txt c.txt 1k.bin 64k.bin 1m.bin 16m.bin
 *   dir/readme.txt dir/sub/one.txt dir/sub/two.bin
 *   ftp/ (for LIST/NLST: alpha.txt beta.txt gamma.bin delta.txt sub/inner.txt)
 *   upload/ (empty, for STOR) */
#ifndef LOADGEN_FIXTURES_H
#define LOADGEN_FIXTURES_H

#include <stddef.h>

/* Create (or refresh) the tree under dir, creating dir if missing. Files are
 * written to a temporary name and renamed into place; an existing file with
 * the right content is left alone. Idempotent. 0, or -1 with a message. */
int fixtures_create(const char *dir, char *err, size_t errlen);

#endif
