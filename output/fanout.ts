/**
 * Calls every output of a run in the order given: each live view to each observer, and the end
 * of the run to each once. One output that throws is reported on the log and skipped; the others
 * still run, and the run itself never fails because of an output.
 *
 * @example
 * ```ts
 * const outputs = fanOut([tableOutput, jsonOutput], { log: console.error });
 * await runLoadTest(config, { log: console.error, live: outputs.observe });
 * await outputs.finish(run);
 * ```
 *
 * @module
 */
import type { LiveView } from "../run/types.ts";
import type { FinishedRun, Output } from "./types.ts";

/** Every output as one. */
export interface FanOut {
  /** Hands the view to every output that observes, in order. */
  observe(view: LiveView): void;
  /** Hands the end of the run to every output, in order, awaiting each; later calls do nothing. */
  finish(run: FinishedRun): Promise<void>;
}

/**
 * Fans out to `outputs`. A failure becomes one `Error:` line on `log`: the error's own message
 * when it says what could not be done (the project's errors start with "Cannot"), else the
 * output's name with what it threw. An observer that fails is reported once and then left out of
 * the live views; its `finish` still runs.
 */
export function fanOut(
  outputs: readonly Output[],
  options: { readonly log: (line: string) => void },
): FanOut {
  const failedObservers = new Set<Output>();
  let finished: Promise<void> | undefined;

  function report(output: Output, error: unknown) {
    options.log(`Error: ${describeFailure(output.name, error)}`);
  }

  async function finishAll(run: FinishedRun) {
    for (const output of outputs) {
      try {
        await output.finish?.(run);
      } catch (error) {
        report(output, error);
      }
    }
  }

  return {
    observe(view) {
      for (const output of outputs) {
        if (!output.observe || failedObservers.has(output)) continue;
        try {
          output.observe(view);
        } catch (error) {
          failedObservers.add(output);
          report(output, error);
        }
      }
    },
    finish(run) {
      finished ??= finishAll(run);
      return finished;
    },
  };
}

/**
 * The error line of a failed output, without `Error: `: an expected failure (a message starting
 * with "Cannot", such as "Cannot write results to 'x.json': ...") as it is; anything else, a
 * bug, with the output's name so that the report says which output broke.
 *
 * @example
 * ```ts
 * describeFailure("results JSON", new Error("Cannot write results to 'r.json': denied"));
 * // "Cannot write results to 'r.json': denied"
 * describeFailure("HTML report", new TypeError("x is undefined"));
 * // "the HTML report output failed: TypeError: x is undefined"
 * ```
 */
export function describeFailure(name: string, error: unknown): string {
  if (error instanceof Error && error.message.startsWith("Cannot ")) return error.message;
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `the ${name} output failed: ${what}`;
}
