/**
 * `deno run -A tests/bench/wake.ts`: how late, and at what CPU, a wait wakes at 300 and 1000
 * wakes/s, one wait after another on a fixed timeline (what a shard's QPS loop does), for:
 * `setTimeout` alone, the timer-then-`MessageChannel`-hops wait load/clock.ts used before
 * (kept here only as the reference), and the clock thread of load/clock.ts. CPU is the whole
 * process's (`process.cpuUsage`), so the clock thread's share counts. Prints figures; never
 * fails. The machine's other load shows in the p99s: compare the rows of one run.
 *
 * @module
 */
import process from "node:process";
import { absoluteNow, createClock, startClockThread } from "../../load/clock.ts";

const RATES = [300, 1000];
const SECONDS = 3;

/** The previous load/clock.ts wait: a timer to 1.3 ms before the deadline, then hops. */
function timerThenHops(deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const hop = () => {
      const { port1, port2 } = new MessageChannel();
      port1.onmessage = () => {
        if (absoluteNow() < deadline) return port2.postMessage(0);
        port1.close();
        port2.close();
        resolve();
      };
      port2.postMessage(0);
    };
    const remaining = deadline - absoluteNow();
    if (remaining > 1.3) setTimeout(hop, remaining - 1.3);
    else hop();
  });
}

function timerAlone(deadline: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - absoluteNow())));
}

const thread = await startClockThread(1);
const clock = createClock(thread.buffer, 0);
const waits: Record<string, (deadline: number) => Promise<void>> = {
  "setTimeout": timerAlone,
  "timer + hops (before)": timerThenHops,
  "clock thread (now)": (deadline) => clock.sleepUntil(deadline),
};

console.log("wakes/s | wait                  | late p50 | late p99 | early | CPU a wake");
for (const rate of RATES) {
  for (const [name, wait] of Object.entries(waits)) {
    const count = rate * SECONDS;
    const late: number[] = [];
    const start = absoluteNow() + 20;
    const before = process.cpuUsage();
    for (let k = 0; k < count; k++) {
      const deadline = start + (k * 1000) / rate;
      await wait(deadline);
      late.push(absoluteNow() - deadline);
    }
    const cpu = process.cpuUsage(before);
    late.sort((a, b) => a - b);
    const at = (q: number) => late[Math.min(count - 1, Math.floor(q * count))].toFixed(2);
    const early = late.filter((ms) => ms < 0).length;
    const perWake = (cpu.user + cpu.system) / count;
    console.log(
      `${String(rate).padStart(7)} | ${name.padEnd(21)} | ${at(0.5).padStart(5)} ms | ` +
        `${at(0.99).padStart(5)} ms | ${String(early).padStart(5)} | ${perWake.toFixed(0)} µs`,
    );
  }
}
clock.close();
thread.close();
