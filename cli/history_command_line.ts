/**
 * The command line of the run-history commands (`runs`, `show`, `compare`, `export`, `report`,
 * `rm`): their commander definitions and the validation of what they were given into a
 * {@link HistoryCommand}. Pure, as `cli/command_line.ts`: the history file comes from
 * `--history`, else `LLMLOAD_HISTORY`, else the platform's data directory of the environment
 * given.
 *
 * @module
 */
import type { Command } from "commander";
import { UsageError } from "../common/errors.ts";
import { defaultHistoryPath } from "../history/location.ts";
import type { RunFilter } from "../history/store.ts";
import { parseDuration } from "../options/duration.ts";
import { historyChoice, tag } from "../options/history_parsers.ts";
import { validated } from "../options/settings.ts";
import { envVarName } from "../options/sources.ts";

/** What a history command asks for; `history` is the file it reads. */
export type HistoryCommand =
  | {
    readonly name: "runs";
    readonly history: string;
    readonly filter: RunFilter;
    readonly json: boolean;
  }
  | { readonly name: "show"; readonly history: string; readonly id: string; readonly json: boolean }
  | {
    readonly name: "compare";
    readonly history: string;
    readonly ids: readonly string[];
    readonly json: boolean;
  }
  | {
    readonly name: "export";
    readonly history: string;
    readonly id: string;
    readonly files: { readonly json?: string; readonly csv?: string; readonly html?: string };
  }
  | {
    readonly name: "report";
    readonly history: string;
    readonly ids: readonly string[];
    readonly htmlFile: string;
  }
  | { readonly name: "rm"; readonly history: string; readonly id: string };

/** The names of the history commands, as the command list shows them. */
export const HISTORY_COMMANDS = ["runs", "show", "compare", "export", "report", "rm"] as const;

const HISTORY_HELP = "SQLite run history file (default: $LLMLOAD_HISTORY, else runs.db in the " +
  "platform's data directory)";

/**
 * Adds the history commands to `program`; `choose` is called with what the one that ran was
 * given, `env` supplies `LLMLOAD_HISTORY` and the data directory.
 */
export function addHistoryCommands(
  program: Command,
  options: {
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly choose: (command: HistoryCommand) => void;
  },
): void {
  const { env, choose } = options;
  function file(given: unknown): string {
    return historyFile(typeof given === "string" ? given : undefined, env);
  }

  program.command("runs")
    .description("list the stored runs, newest first")
    .option("--history <file>", HISTORY_HELP)
    .option("--tag <key=value>", "only runs with this tag; repeat for more", collect)
    .option("--model <name>", "only runs of this model")
    .option("--host <text>", "only runs whose host URL contains this text")
    .option(
      "--since <date>",
      "only runs started since this date (2026-12-01, ISO 8601) or this long ago (2h, 7d)",
    )
    .option("--json", "print the list as JSON")
    .action((opts) => {
      choose({
        name: "runs",
        history: file(opts.history),
        filter: {
          tags: opts.tag === undefined ? undefined : Object.fromEntries(
            (opts.tag as string[]).map((value) => validated({ value, label: "--tag" }, tag)),
          ),
          model: opts.model,
          host: opts.host,
          since: opts.since === undefined ? undefined : sinceTime(opts.since, Date.now()),
        },
        json: opts.json === true,
      });
    });

  program.command("show")
    .description("print a stored run's table and summary block")
    .argument("<id>", "run id, or a unique start of it")
    .option("--history <file>", HISTORY_HELP)
    .option("--json", "print its results JSON instead")
    .action((id, opts) =>
      choose({ name: "show", history: file(opts.history), id, json: opts.json === true })
    );

  program.command("compare")
    .description("compare stored runs side by side: every metric with its change from the first")
    .argument("<ids...>", "two or more run ids, the baseline first")
    .option("--history <file>", HISTORY_HELP)
    .option("--json", "print the comparison as JSON")
    .action((ids: string[], opts) => {
      if (ids.length < 2) {
        throw new UsageError(`Cannot compare one run: give two or more ids, the baseline first`);
      }
      choose({ name: "compare", history: file(opts.history), ids, json: opts.json === true });
    });

  program.command("export")
    .description(
      "write a stored run's results JSON, summary CSV row or HTML report, as the run would",
    )
    .argument("<id>", "run id, or a unique start of it")
    .option("--history <file>", HISTORY_HELP)
    .option("--json <file>", "write the results JSON to this file")
    .option("--csv <file>", "append the summary CSV row to this file")
    .option("--html <file>", "write the HTML report to this file")
    .action((id, opts) => {
      if (opts.json === undefined && opts.csv === undefined && opts.html === undefined) {
        throw new UsageError(
          `Cannot export run ${id} without a format: give --json FILE, --csv FILE or --html FILE`,
        );
      }
      choose({
        name: "export",
        history: file(opts.history),
        id,
        files: { json: opts.json, csv: opts.csv, html: opts.html },
      });
    });

  program.command("report")
    .description(
      "write one HTML page that overlays the latency distributions and time series of stored runs",
    )
    .argument("<ids...>", "run ids")
    .option("--history <file>", HISTORY_HELP)
    .requiredOption("--html <file>", "write the page to this file")
    .action((ids: string[], opts) =>
      choose({ name: "report", history: file(opts.history), ids, htmlFile: opts.html })
    );

  program.command("rm")
    .description("remove a stored run from the history")
    .argument("<id>", "run id, or a unique start of it")
    .option("--history <file>", HISTORY_HELP)
    .action((id, opts) => choose({ name: "rm", history: file(opts.history), id }));
}

/** The history file: `given`, else `LLMLOAD_HISTORY`, else the platform's default. */
function historyFile(
  given: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const label = envVarName("history");
  const setting = given !== undefined
    ? { value: given, label: "--history" }
    : env[label]
    ? { value: env[label]!, label, where: "environment" }
    : undefined;
  const choice = setting === undefined ? undefined : validated(setting, historyChoice);
  if (choice === false) {
    throw new UsageError(
      `Cannot read the run history: ${label} turns it off; give --history FILE to read one`,
    );
  }
  const path = choice ?? defaultHistoryPath(env, Deno.build.os);
  if (path === undefined) {
    throw new UsageError(
      "Cannot find the run history: HOME (APPDATA on Windows) is unset; give --history FILE",
    );
  }
  return path;
}

/**
 * The epoch ms `--since` names: an ISO 8601 date or time, or a duration back from `now`.
 *
 * @example
 * ```ts
 * sinceTime("2h", Date.parse("2026-12-02T12:00:00Z")); // Date.parse("2026-12-02T10:00:00Z")
 * ```
 */
export function sinceTime(text: string, now: number): number {
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const time = Date.parse(text.trim());
    if (!Number.isNaN(time)) return time;
  } else {
    const days = /^\s*(\d+)d\s*$/.exec(text);
    if (days !== null) return now - Number(days[1]) * 86_400_000;
    try {
      return now - parseDuration(text);
    } catch {
      // Falls through to the one message below.
    }
  }
  throw new UsageError(
    `Invalid --since '${text}': expected a date such as 2026-12-01 (ISO 8601) or a duration ` +
      `back from now such as 2h or 7d`,
  );
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
