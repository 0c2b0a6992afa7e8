import assert from "node:assert/strict";
import { DURATION_FORMS, formatDuration, parseDuration } from "../options/duration.ts";

Deno.test("parseDuration reads every documented form in milliseconds", () => {
  const cases: [string, number][] = [
    ["30s", 30_000],
    ["5min", 300_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["250ms", 250],
    ["2h", 7_200_000],
    ["1.5s", 1_500],
    ["90", 90_000],
    ["0.25", 250],
    ["0", 0],
    ["1m30s", 90_000],
    ["1h2min3s4ms", 3_723_004],
    ["1.1s", 1_100],
    ["  45s  ", 45_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

Deno.test("parseDuration rejects anything else and lists the accepted forms", () => {
  const bad = ["5 minutes", "", " ", "-5s", "1d", "s", "30m1h", "1m1m", "1h30", "5sec", "1e3"];
  for (const text of bad) {
    assert.throws(
      () => parseDuration(text),
      (error: Error) => {
        assert.equal(error.message, `Cannot parse duration '${text}': expected ${DURATION_FORMS}`);
        return true;
      },
      text,
    );
  }
  assert.match(DURATION_FORMS, /250ms.*30s.*5min.*1h30m/);
});

Deno.test("formatDuration writes the shortest form", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [250, "250ms"],
    [1_500, "1.5s"],
    [30_000, "30s"],
    [90_000, "1m30s"],
    [600_000, "10m"],
    [3_600_000, "1h"],
    [5_400_000, "1h30m"],
    [3_661_001, "1h1m1.001s"],
    [0.4, "0s"],
  ];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, String(ms));
});

Deno.test("formatDuration output parses back to the same milliseconds", () => {
  for (const ms of [1, 999, 1_000, 59_999, 60_000, 86_400_000, 123_456_789]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
});

Deno.test("formatDuration refuses negative and non-finite values", () => {
  assert.throws(() => formatDuration(-1), RangeError);
  assert.throws(() => formatDuration(Number.NaN), RangeError);
  assert.throws(() => formatDuration(Number.POSITIVE_INFINITY), RangeError);
});
