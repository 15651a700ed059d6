/* csvread.h - reading result CSVs: RFC 4180 records, the header checked
 * against csv.c's schema (DESIGN.md section 7), "FILE:LINE: reason" errors.
 * Shared by compare (medians of rows) and merge (a fleet's rows). */
#ifndef LOADGEN_CSVREAD_H
#define LOADGEN_CSVREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csv.h"

/* One data record: NUL-terminated fields, as many as the header has. */
struct csv_record {
    char **field;
    int nfields;
    int line; /* the line of the record's first byte */
};

/* Called for every data record (blank lines skipped). 0 goes on; -1 stops
 * the read with a reason in why (reported as "FILE:LINE: why"). */
typedef int (*csv_record_fn)(const struct csv_record *rec, void *ctx, char *why, size_t whylen);

/* Read path: the header must begin with the schema's columns in order
 * (columns added later at the end are allowed); every record has the
 * header's field count. 0, or -1 with "FILE:LINE: reason" (or "FILE: reason"). */
int csv_read_file(const char *path, csv_record_fn fn, void *ctx, char *err, size_t errlen);

/* The schema's column names, split out of csv_header(); returns the count. */
int csv_schema_columns(char names[][32], int max);

/* A count: digits only. 0, or -1. */
int csv_parse_count(const char *s, uint64_t *out);
/* A non-negative finite number; empty is NAN when allow_empty. 0, or -1. */
int csv_parse_value(const char *s, bool allow_empty, double *out);

/* A whole record as a row: every column of the schema; the columns
 * appended after the first schema may be absent (an older file): empty.
 * 0, or -1 with a reason naming the column. */
int csv_parse_row(const struct csv_record *rec, struct csv_row *row, char *why, size_t whylen);

#endif
