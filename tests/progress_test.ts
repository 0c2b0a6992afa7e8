import assert from "node:assert/strict";
import { formatProgress } from "../output/progress.ts";
import type { ProgressFigures } from "../output/progress.ts";
import { withMock } from "./_harness.ts";
import { needing, toolPath } from "./_tools.ts";

const figures: ProgressFigures = {
  elapsedMs: 12_000,
  completed: 1234,
  failed: 5,
  inFlight: 16,
  requestsPerSec: 102.4,
  tokensPerSec: 6553.6,
  ttftP50: 51.2,
};

Deno.test("the progress line keeps its full form without a width", () => {
  assert.equal(
    formatProgress(figures),
    "[12s] 1234 ok, 5 failed, 16 in flight | 102.4 req/s, 6554 tok/s | TTFT p50 51.2 ms",
  );
});

Deno.test("the progress line fits the width, dropping the least important parts first", () => {
  const at = (width: number, extra: Partial<ProgressFigures> = {}) =>
    formatProgress({ ...figures, ...extra }, width);
  assert.equal(
    at(80),
    "[12s] 1234 ok, 5 failed | 102.4 req/s, 6554 tok/s | TTFT p50 51.2 ms",
  );
  assert.equal(at(60), "[12s] 1234 ok, 5 failed | 102.4 req/s | TTFT p50 51.2 ms");
  assert.equal(at(40), "[12s] 1234 ok, 5 failed | 102.4 req/s");
  assert.equal(at(30), "[12s] 1234 ok, 5 failed");
  assert.equal(at(12), "[12s] 1234 ");
  assert.equal(
    at(60, { saturated: true }),
    "[12s] 1234 ok, 5 failed | 102.4 req/s | SATURATED",
  );
  assert.equal(
    at(60, { delayedMs: 12.4 }),
    "[12s] 1234 ok, 5 failed | 102.4 req/s | DELAYED 12 ms",
  );
  assert.equal(
    at(100, { saturated: true }),
    "[12s] 1234 ok, 5 failed | 102.4 req/s, 6554 tok/s | TTFT p50 51.2 ms | CLIENT SATURATED",
  );
  for (let width = 1; width <= 120; width++) {
    assert.ok(at(width, { delayedMs: 8 }).length < Math.max(2, width), `width ${width}`);
  }
});

async function tmux(...args: string[]): Promise<string> {
  const output = await new Deno.Command(toolPath("tmux")!, {
    args,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return new TextDecoder().decode(output.stdout);
}

Deno.test(needing(["tmux"], {
  name: "in a 60-column terminal each progress rewrite replaces the last, leaving no wrapped line",
  async fn() {
    await withMock({ ttftMs: 20, itlMs: 5 }, async (mock) => {
      const session = `llmload-progress-${Deno.pid}`;
      const main = new URL("../main.ts", import.meta.url).pathname;
      const command = `${Deno.execPath()} run -A ${main} -H ${mock.url} -u 8 -o 8 -t 4s ` +
        `--stop-grace 1s 2>&1; sleep 60`;
      await tmux("new-session", "-d", "-s", session, "-x", "60", "-y", "50", command);
      try {
        let pane = "";
        const deadline = Date.now() + 40_000;
        // Mid-run: one progress line on screen, within the width.
        let midRun: string[] = [];
        while (Date.now() < deadline) {
          pane = await tmux("capture-pane", "-p", "-t", session);
          const progress = pane.split("\n").filter((line) => /^\[\d+s\] /.test(line));
          if (progress.length > 0 && /^\[[3-9]s\]/.test(progress.at(-1)!)) {
            midRun = progress;
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        assert.equal(midRun.length, 1, pane);
        assert.ok(midRun[0].length < 60, midRun[0]);
        assert.match(midRun[0], /^\[\ds\] \d+ ok, 0 failed/);
        while (Date.now() < deadline && !pane.includes("Num Requests")) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          pane = await tmux("capture-pane", "-p", "-t", session, "-S", "-200");
        }
        assert.ok(pane.includes("Num Requests"), pane);
        // Every rewrite was cleared whole: no stale progress fragments above the results.
        const stale = pane.split("\n").filter((line) => /^\[\d+s\] |tok\/s|req\/s \|/.test(line));
        assert.deepEqual(stale, [], pane);
      } finally {
        await tmux("kill-session", "-t", session);
      }
    });
  },
}));
