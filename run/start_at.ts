/**
 * When a run's load begins: at once, or at `--start-at` so that the shards of a distributed run
 * (`--shard`) begin on the same instant. The shards' schedules all count from that instant, so a
 * process that is ready late joins the common timeline rather than starting its own: its missed
 * sends go out at once, each recorded with its send lag, and it says by how much it was late.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { formatDuration } from "../options/duration.ts";
import type { RunConfig } from "../options/types.ts";

/** Where the NTP client of systemd-timesyncd says the clock is synchronised. */
export const TIMESYNC_MARKER = "/run/systemd/timesync/synchronized";

/** The start a run settled on. */
export interface PlannedStart {
  /** Absolute ms of the run's time zero. */
  readonly startAt: number;
  /** How late the process is for `--start-at` (ms); 0 when on time or without it. */
  readonly lateMs: number;
}

/**
 * The run's time zero at `now` (absolute ms): `--start-at` when given, else `now + marginMs`.
 * Throws a `UsageError` when `--start-at` passed by more than `-t`: the whole run would be over.
 *
 * @example
 * ```ts
 * planStart({ startAt: 10_000, runTimeMs: 60_000 }, 10_250, 20); // { startAt: 10000, lateMs: 250 }
 * ```
 */
export function planStart(
  config: Pick<RunConfig, "startAt" | "runTimeMs">,
  now: number,
  marginMs: number,
): PlannedStart {
  if (config.startAt === undefined) return { startAt: now + marginMs, lateMs: 0 };
  const lateMs = Math.max(0, now - config.startAt);
  if (config.runTimeMs !== undefined && lateMs >= config.runTimeMs) {
    throw new UsageError(
      `Cannot start at --start-at ${new Date(config.startAt).toISOString()}: it passed ` +
        `${formatDuration(lateMs)} ago, more than -t ${
          formatDuration(config.runTimeMs)
        }, so the run would ` +
        `already be over; pass an instant in the future, such as ` +
        `$(date -u -d '+1 min' +%Y-%m-%dT%H:%M:%SZ)`,
    );
  }
  return { startAt: config.startAt, lateMs };
}

/**
 * The log lines of a start: when the load begins, and how late this process is for it.
 *
 * @example
 * ```ts
 * startLines({ startAt: 0, lateMs: 1500 }, 1500); // ["Late by 1.5s for --start-at 1970-01-01T00:00:00.000Z: ..."]
 * ```
 */
export function startLines(start: PlannedStart, now: number): string[] {
  const at = new Date(start.startAt).toISOString();
  if (start.lateMs > 0) {
    return [
      `Late by ${
        formatDuration(start.lateMs)
      } for --start-at ${at}: joining the common timeline, the ` +
      `missed sends go out now with their send lag`,
    ];
  }
  if (start.startAt - now <= 1000) return [];
  return [`Waiting ${formatDuration(start.startAt - now)} for --start-at ${at}`];
}

/**
 * The warning of a `--start-at` run on a host whose clock offset llmload cannot know: shards on
 * hosts whose clocks disagree start apart by that much. Only systemd-timesyncd says so in a file
 * ({@link TIMESYNC_MARKER}); with chrony or ntpd, or in a container, the offset stays unknown.
 */
export async function clockWarning(
  config: Pick<RunConfig, "startAt">,
  exists: (path: string) => Promise<boolean> = pathExists,
): Promise<string | undefined> {
  if (config.startAt === undefined || await exists(TIMESYNC_MARKER)) return undefined;
  return `--start-at relies on the hosts' clocks agreeing, and this host's clock offset is ` +
    `unknown (no ${TIMESYNC_MARKER}); check it with chronyc tracking or timedatectl, since ` +
    `shards start apart by their clocks' difference`;
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
