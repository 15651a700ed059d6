// make_hdr_vectors.js - HdrHistogram test vectors from the reference
// JavaScript implementation (hdr-histogram-js), for tests/unit/loadgen_hdrlog.c.
//
// Rerun (from the repository root; the outputs are committed, node_modules is not):
//
//   cmake --build build --target loadgen_hdrlog
//   build/tests/loadgen_hdrlog --make-vectors tests/vectors   # ours_*.b64, ours.hlog
//   d=$(mktemp -d) && (cd "$d" && npm install --no-save hdr-histogram-js@3.0.1)
//   NODE_PATH="$d/node_modules" node tests/vectors/make_hdr_vectors.js tests/vectors
//
// Writes, into the directory given:
//   js_known.b64, js_known.txt   known values (2000 of them) encoded by the JS library,
//                                and the JS library's view of them (below)
//   js_big.b64, js_big.txt       3000 pseudo-random values plus counts past 2^31
//   js_empty.b64, js_empty.txt   an empty histogram
//   js.hlog, js.hlog.txt         an interval log (format 1.3) written by HistogramLogWriter:
//                                three intervals and a Tag=run line
//   ours_known.js.txt            the JS library's view of ours_known.b64 (written by
//                                loadgen's encoder from the same known values)
//   ours_empty.js.txt            the same for ours_empty.b64
//   ours.hlog.js.txt             the JS HistogramLogReader's view of ours.hlog
//
// A view (*.txt) is one fact per line:
//   total N | min V | max V | pP V (value at percentile P) |
//   bucket INDEX LOWEST_VALUE COUNT (every non-zero count) |
//   interval TAG START_MS END_MS TOTAL (logs; TAG "-" when untagged)
"use strict";
const fs = require("fs");
const path = require("path");
const hdr = require("hdr-histogram-js");

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node make_hdr_vectors.js DIR");
  process.exit(2);
}

// loadgen's histogram: 1 us .. 60 s, 3 significant digits (loadgen/hist.h).
const newHistogram = () =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60000000,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 64,
  });

const PERCENTILES = [50, 90, 99, 99.9, 100];

function view(h) {
  const lines = [`total ${h.totalCount}`, `min ${h.minNonZeroValue}`, `max ${h.maxValue}`];
  if (h.totalCount === 0) lines[1] = "min 0";
  for (const p of PERCENTILES) lines.push(`p${p} ${h.getValueAtPercentile(p)}`);
  for (let i = 0; i < h.countsArrayLength; i++) {
    const c = h.getCountAtIndex(i);
    if (c) lines.push(`bucket ${i} ${h.lowestEquivalentValue(h.valueFromIndex(i))} ${c}`);
  }
  return lines.join("\n") + "\n";
}

const write = (name, text) => fs.writeFileSync(path.join(dir, name), text);
const decode = (b64) => hdr.decodeFromCompressedBase64(b64, 64);

// 2000 values, so p50/p90/p99/p99.9 fall on whole ranks (no rounding rule differs).
function recordKnown(h) {
  for (let v = 1; v <= 1000; v++) h.recordValue(v);
  h.recordValueWithCount(1500, 100);
  for (const v of [2047, 2048, 2049, 4095, 4096]) h.recordValueWithCount(v, 20);
  h.recordValueWithCount(100000, 500);
  h.recordValueWithCount(123456, 200);
  h.recordValueWithCount(1000000, 90);
  h.recordValueWithCount(59999999, 5);
  h.recordValueWithCount(60000000, 5);
}

// mulberry32: a fixed-seed generator, so the vector never changes.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function recordBig(h) {
  const r = rng(42);
  for (let i = 0; i < 3000; i++) h.recordValue(1 + Math.floor(Math.exp(r() * Math.log(5e7))));
  h.recordValueWithCount(250, 100000); // a three-byte LEB128 count
  h.recordValueWithCount(7, 3000000000); // past 2^31: 64-bit counts
}

function vector(name, fill) {
  const h = newHistogram();
  fill(h);
  const b64 = hdr.encodeIntoCompressedBase64(h);
  write(`${name}.b64`, b64 + "\n");
  write(`${name}.txt`, view(decode(b64))); // the view after a round trip
}

vector("js_known", recordKnown);
vector("js_big", recordBig);
vector("js_empty", () => {});

function logView(text) {
  const reader = new hdr.HistogramLogReader(text, 64);
  const lines = [];
  let h;
  while ((h = reader.nextIntervalHistogram()) !== null) {
    const tag = h.tag && h.tag !== "NO TAG" ? h.tag : "-";
    lines.push(
      `interval ${tag} ${Math.round(h.startTimeStampMsec)} ${Math.round(h.endTimeStampMsec)} ${h.totalCount}`
    );
  }
  return lines.join("\n") + "\n";
}

// An interval log: three one-second intervals and the whole run (Tag=run).
{
  let text = "";
  const writer = new hdr.HistogramLogWriter((s) => (text += s));
  const startMs = 1700000000000;
  writer.outputLogFormatVersion();
  writer.outputStartTime(startMs);
  writer.outputLegend();
  const run = newHistogram();
  for (let i = 0; i < 3; i++) {
    const h = newHistogram();
    for (let v = 1; v <= 100 * (i + 1); v++) h.recordValue(v * (i + 1) * 10);
    run.add(h);
    writer.outputIntervalHistogram(h, i, i + 1);
  }
  run.tag = "run";
  writer.outputIntervalHistogram(run, 0, 3);
  write("js.hlog", text);
  write("js.hlog.txt", logView(text));
}

// The reverse direction: what the JS library reads from loadgen's encoder.
for (const name of ["ours_known", "ours_empty"]) {
  const file = path.join(dir, `${name}.b64`);
  if (fs.existsSync(file)) write(`${name}.js.txt`, view(decode(fs.readFileSync(file, "utf8"))));
  else console.error(`${file} missing: run loadgen_hdrlog --make-vectors first`);
}
{
  const file = path.join(dir, "ours.hlog");
  if (fs.existsSync(file)) write("ours.hlog.js.txt", logView(fs.readFileSync(file, "utf8")));
  else console.error(`${file} missing: run loadgen_hdrlog --make-vectors first`);
}
