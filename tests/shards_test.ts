import assert from "node:assert/strict";
import { autoWorkerCount, shardUsers } from "../load/sharding.ts";

Deno.test("auto shards: one per core, within [1, users], whatever the mode", () => {
  assert.equal(autoWorkerCount({ cores: 8, users: 1 }), 1);
  assert.equal(autoWorkerCount({ cores: 8, users: 3 }), 3);
  assert.equal(autoWorkerCount({ cores: 8, users: 8 }), 8);
  assert.equal(autoWorkerCount({ cores: 8, users: 10_000 }), 8);
  assert.equal(autoWorkerCount({ cores: 2, users: 64 }), 2);
  assert.equal(autoWorkerCount({ cores: 1, users: 500 }), 1);
  assert.equal(autoWorkerCount({ cores: 0, users: 500 }), 1);
  assert.equal(autoWorkerCount({ cores: 8, users: 0 }), 1);
});

Deno.test("shard users interleave, partition all users and differ in size by at most one", () => {
  for (const users of [0, 1, 2, 7, 64, 100, 1001]) {
    for (const shardCount of [1, 2, 3, 8, 16]) {
      const shards = Array.from(
        { length: shardCount },
        (_, shardIndex) => shardUsers(users, shardIndex, shardCount),
      );
      const sizes = shards.map((shard) => shard.length);
      assert.equal(sizes.reduce((sum, size) => sum + size, 0), users);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${users}/${shardCount}`);
      const all = shards.flat().sort((a, b) => a - b);
      assert.deepEqual(all, Array.from({ length: users }, (_, i) => i));
      shards.forEach((shard, shardIndex) =>
        assert.ok(shard.every((user) => user % shardCount === shardIndex))
      );
    }
  }
  assert.deepEqual(shardUsers(10, 1, 4), [1, 5, 9]);
});

Deno.test("a bad shard index or count is refused", () => {
  assert.throws(() => shardUsers(10, 0, 0), RangeError);
  assert.throws(() => shardUsers(10, 4, 4), RangeError);
  assert.throws(() => shardUsers(10, -1, 4), RangeError);
});
