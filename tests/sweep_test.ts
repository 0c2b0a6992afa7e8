import assert from "node:assert/strict";
import { sweepList } from "../options/sweep_parsers.ts";
import { Rejected } from "../options/parsers.ts";
import { kneeIndex } from "../stats/knee.ts";

Deno.test("sweep lists: given points, geometric and arithmetic ranges", () => {
  assert.deepEqual(sweepList("1,2,4,8", { whole: true }), [1, 2, 4, 8]);
  assert.deepEqual(sweepList("0.5, 1.5,2", { whole: false }), [0.5, 1.5, 2]);
  assert.deepEqual(sweepList("1:64:x2", { whole: false }), [1, 2, 4, 8, 16, 32, 64]);
  assert.deepEqual(sweepList("1:50:x2", { whole: false }), [1, 2, 4, 8, 16, 32]);
  assert.deepEqual(sweepList("1:10:+3", { whole: true }), [1, 4, 7, 10]);
  assert.deepEqual(sweepList("0.1:0.5:+0.1", { whole: false }), [0.1, 0.2, 0.3, 0.4, 0.5]);
});

Deno.test("sweep lists refuse what is not increasing, zero, fractional users or unknown syntax", () => {
  for (
    const [value, whole] of [
      ["4,2", true],
      ["2,2", false],
      ["0,1,2", false],
      ["1.5,3", true],
      ["1:64", false],
      ["1:64:*2", false],
      ["1:64:x1", false],
      ["8:1:x2", false],
      ["1:2:3:4", false],
      ["a,b", false],
      ["", false],
      ["1:100000:+1", true],
    ] as const
  ) {
    assert.throws(() => sweepList(value, { whole }), Rejected, value);
  }
});

Deno.test("the knee is the first point after which throughput grows < 10% while p99 grows > 50%", () => {
  const growing = [
    { throughput: 10, p99: 100 },
    { throughput: 20, p99: 110 },
    { throughput: 40, p99: 130 },
  ];
  assert.equal(kneeIndex(growing), undefined);
  assert.equal(kneeIndex([...growing, { throughput: 43, p99: 200 }]), 2);
  // Flat throughput with steady latency is no knee; a 9% gain with +51% latency is.
  assert.equal(kneeIndex([{ throughput: 10, p99: 100 }, { throughput: 10, p99: 140 }]), undefined);
  assert.equal(kneeIndex([{ throughput: 10, p99: 100 }, { throughput: 10.9, p99: 151 }]), 0);
  // Exactly 10% growth still counts as growing; exactly 50% latency still counts as steady.
  assert.equal(kneeIndex([{ throughput: 10, p99: 100 }, { throughput: 11, p99: 400 }]), undefined);
  assert.equal(kneeIndex([{ throughput: 10, p99: 100 }, { throughput: 10, p99: 150 }]), undefined);
  // A point where nothing completed is skipped, not a knee.
  assert.equal(kneeIndex([{ throughput: 0 }, { throughput: 0, p99: 100 }]), undefined);
  assert.equal(kneeIndex([]), undefined);
});
