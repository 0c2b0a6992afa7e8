/**
 * A load shard: runs its share of the users, of the QPS schedule or of a trace, measures every request into
 * a {@link Recorder}, and posts stats deltas every ~250 ms. Self-contained so that it runs in a
 * Web Worker (`shard_worker.ts`) or, in tests, in-process.
 *
 * @module
 */
import { createProvider } from "../providers/mod.ts";
import { absoluteNow, createClock, startClockThread } from "./clock.ts";
import type { Clock, ClockThread } from "./clock.ts";
import { createRandom, deriveSeed } from "./random.ts";
import { runRequest } from "../request/run_request.ts";
import type { RequestContext, RequestOutcome } from "../request/run_request.ts";
import { type RequestLogLine, requestLogLine } from "../request/log_line.ts";
import { createArrivals, nextBurstOffset, spawnOffset, traceSendOffset } from "./schedule.ts";
import { blocksOf } from "./trace.ts";
import type { Trace } from "./trace.ts";
import { createTracePrompts } from "./trace_prompt.ts";
import { shardUsers } from "./sharding.ts";
import { Recorder } from "../stats/recorder.ts";
import type { SampleDelta } from "../stats/types.ts";
import { createPromptSource } from "./prompt.ts";
import {
  createServerCounter,
  loadTokenizer,
  localTokenizerSpec,
  SERVER_TOKENIZER,
} from "./tokenizer.ts";
import type { Tokenizer } from "./tokenizer.ts";
import { createTlsFetch, createTransport } from "../transport/mod.ts";
import { maskError, secretsOf } from "../common/secrets.ts";
import { createLengthSampler } from "./workload.ts";
import { createImagePicker, createImages } from "./images.ts";
import { createPoolDraw, poolSample, randomizedPrompts } from "./prompt_pool.ts";
import { drawBatch } from "./batch.ts";
import type { PromptPool } from "./prompt_pool.ts";
import type { Sample } from "../providers/types.ts";
import { createThinkTime, scriptOf } from "./session.ts";
import { playSession } from "./session_player.ts";
import type { PlannedSession, SessionHooks } from "./session_player.ts";
import { TurnRecorder } from "../stats/turns.ts";
import type { RunConfig } from "../options/types.ts";
import { requestHeaders } from "../options/headers.ts";

/** Think time of sessions without `--think-time`: the next turn is sent at once. */
const NO_THINK_TIME = { meanMs: 0, distribution: "constant" } as const;

/** Random stream of `--cancel-rate` draws (plus the shard index), apart from the shards' own. */
const CANCEL_SEED_STREAM = 1_000_000;

/** Random stream of the `--images` noise, the same in every shard. */
const IMAGE_SEED_STREAM = 2_000_000;

/** How often a shard posts its stats delta. */
export const DELTA_INTERVAL_MS = 250;

/** Request log lines a shard holds at most before it posts them (`--log-requests`). */
const MAX_LOG_BATCH = 1000;

/** What a shard needs to start: the run, its place among the shards and the shared start time. */
export interface ShardInit {
  /** The validated run, with `model` and `provider` resolved. */
  readonly config: RunConfig & { readonly model: string; readonly provider: string };
  /** The prompt every request sends. */
  readonly prompt: string;
  /** Prompt tokens by the local tokenizer. */
  readonly localPromptTokens?: number;
  /** Prepared prompts to draw from instead of `prompt` (datasets, drawn prompt lengths). */
  readonly pool?: PromptPool;
  /** This shard's index among all the run's shards (see `workerShard`), from 0. */
  readonly shardIndex: number;
  /** Number of shards in the run, over every process of a `--shard` run. */
  readonly shardCount: number;
  /**
   * This Worker's place in its process, from 0: its clock slot and the `shardIndex` of its
   * messages. Default `shardIndex` (a process that runs the whole load).
   */
  readonly slot?: number;
  /** Absolute time (ms) of the run's time zero; every schedule counts from it. */
  readonly startAt: number;
  /** Seed of this run's random source. */
  readonly seed: number;
  /**
   * The coordinator's clock thread ({@linkcode startClockThread}); this shard waits on slot
   * `slot`. Without it (a shard run in-process) the shard starts a thread of its own.
   */
  readonly clockBuffer?: SharedArrayBuffer;
  /** This shard's share of the `--trace` requests, which it replays instead of users or QPS. */
  readonly trace?: Trace;
}

/** Messages from the coordinator to a shard. */
export type ToShard =
  | { readonly type: "prepare"; readonly tokenizer: string }
  | { readonly type: "start"; readonly init: ShardInit }
  | { readonly type: "reset"; readonly epoch: number }
  | { readonly type: "load"; readonly load: LoadChange }
  | { readonly type: "stop"; readonly graceMs: number };

/** A change of load in the middle of a run, effective for every shard at the same instant. */
export interface LoadChange {
  /** New total of users (closed loop) or of the in-flight cap (QPS mode). */
  readonly users?: number;
  /** New QPS target (QPS mode only). */
  readonly qps?: number;
  /** Absolute ms when the new load starts; new users spawn and new arrivals count from here. */
  readonly at: number;
  /** The `--stages` index this load begins: requests completed from now on are counted in it. */
  readonly stage?: number;
}

/** Progress facts posted with every delta. */
export interface ShardStatus {
  /** Requests currently in flight. */
  readonly inFlight: number;
  /** Requests cut off by the stop (not failures). */
  readonly cancelled: number;
  /** Shortest and longest wait, in ms, of the requests cut off by the stop; absent before any. */
  readonly cutOffWaitMs?: { readonly min: number; readonly max: number };
  /** Worst lateness of this shard's event loop since the last delta, in ms. */
  readonly loopLagMs: number;
}

/** Messages from a shard to the coordinator. */
export type FromShard =
  | { readonly type: "ready" }
  | { readonly type: "prepared" }
  | {
    readonly type: "delta";
    readonly shardIndex: number;
    readonly epoch: number;
    /** The `--stages` index the delta's requests completed in (0 without stages). */
    readonly stage: number;
    readonly delta: SampleDelta;
    readonly status: ShardStatus;
  }
  | {
    readonly type: "requests";
    readonly shardIndex: number;
    readonly lines: readonly RequestLogLine[];
  }
  | { readonly type: "done"; readonly shardIndex: number }
  | { readonly type: "error"; readonly shardIndex: number; readonly message: string };

/** A running shard. */
export interface Shard {
  /** Starts a new stats epoch; the delta of the old one is posted first. */
  reset(epoch: number): void;
  /** Stops sending; in-flight requests get `graceMs`, then are cut off. */
  stop(graceMs: number): void;
  /** Changes the number of users or the QPS target. */
  setLoad(load: LoadChange): void;
  /** Resolves after the final delta and the `done` message were posted. */
  readonly finished: Promise<void>;
}

/** Starts a shard that reports through `post`. */
export function startShard(init: ShardInit, post: (message: FromShard) => void): Shard {
  const { config } = init;
  const slot = init.slot ?? init.shardIndex;
  const random = createRandom(deriveSeed(init.seed, init.shardIndex));
  const sampler = createLengthSampler({
    distribution: config.maxTokensDistribution,
    mean: config.maxTokens,
    alpha: config.maxTokensRange,
    cap: config.maxTokensCap,
    jitter: config.maxTokensJitter,
  }, random);
  const think = createThinkTime(config.thinkTime ?? NO_THINK_TIME, random);
  const transport = createTransport(config.transport, config);
  const sideFetch = createTlsFetch(config);
  const hop = createEventLoopHop();
  // Set in run() before any loop starts.
  let clock!: Clock;
  let ownClock: ClockThread | undefined;
  const recorder = new Recorder(config.slo);
  const turnRecorder = new TurnRecorder();
  const stopController = new AbortController();
  const stopSignal = stopController.signal;
  let tokenizer: Promise<Tokenizer> | undefined;
  const provider = createProvider(config.provider, {
    model: config.model,
    chat: config.chat,
    stream: config.stream,
    temperature: config.temperature,
    logprobs: config.logprobs,
    n: config.n,
    dimensions: config.embeddingsDimensions,
    query: config.rerankQuery,
    topN: config.rerankTopN,
    responses: config.api === "responses",
    reasoningEffort: config.reasoningEffort,
    imagesPosition: config.imagesPosition,
  }, config.mode);
  const headers = requestHeaders(config);
  // With --images, every shard encodes the same images (one seed) once, before the load.
  const pickImages = config.images === undefined ? undefined : createImagePicker(
    createImages(config.images, createRandom(deriveSeed(init.seed, IMAGE_SEED_STREAM))),
    config.imagesPerRequest ?? 1,
  );
  // --cancel-rate draws from its own stream, so the rest of a seeded workload stays the same.
  const cancelRandom = createRandom(deriveSeed(init.seed, CANCEL_SEED_STREAM + init.shardIndex));
  const cancelRate = config.stream ? config.cancelRate ?? 0 : 0;
  // With --tokenizer server, output without usage is counted by the server's tokenize endpoint
  // (the plan checked it has one); `runRequest` counts after the response's times are taken.
  const serverCounter = config.tokenizer === SERVER_TOKENIZER && provider.tokenize
    ? createServerCounter(provider.tokenize, {
      host: config.host,
      headers,
      timeoutMs: config.timeoutMs,
      fetch: sideFetch.fetch,
    })
    : undefined;
  const localSpec = localTokenizerSpec(config.tokenizer);
  const secrets = secretsOf(config);
  const context: RequestContext = {
    provider,
    transport,
    host: config.host,
    headers,
    timeoutMs: config.timeoutMs,
    localPromptTokens: init.localPromptTokens,
    comparePromptTokens: !config.chat,
    completions: config.n,
    countTokens: serverCounter
      ? (text) => serverCounter.count(text, false)
      : async (text) => (await (tokenizer ??= loadTokenizer(localSpec))).count(text),
    onResponse: config.showResponse ? (text) => console.log(`---\n${text}\n---`) : undefined,
  };
  // With --prompt-randomize every request gets its own random padding (set up in run()).
  let nextPrompt = () => init.prompt;
  let nextSample = (): [Sample, RequestContext] => [
    { prompt: nextPrompt(), maxTokens: sampler.sample() },
    context,
  ];
  const { pool } = init;
  // With --prompt-randomize, a generated pool's prompt is redrawn per request (set up in run()).
  let promptOf: ((index: number) => string) | undefined;
  // With --turns or --dataset-sessions, users play sessions (see playSession): generated ones
  // draw each turn like a single request; dataset ones play a conversation's user turns.
  const sessions = config.turns !== undefined || config.datasetSessions;
  let nextSession = (): PlannedSession => ({
    preamble: [],
    turns: Array.from({ length: config.turns ?? 1 }, (_, index) => {
      const [sample, sampleContext] = nextSample();
      const promptTokens = index === 0 ? sampleContext.localPromptTokens : undefined;
      return { text: sample.prompt, maxTokens: sample.maxTokens, promptTokens };
    }),
  });
  if (pool !== undefined) {
    const draw = createPoolDraw(pool, random, init);
    if (config.datasetSessions) {
      nextSession = () => {
        const index = draw.next();
        const script = scriptOf(
          pool.messages?.[index] ?? [{ role: "user", content: pool.prompts[index] }],
          config.turns,
        );
        return {
          preamble: script.preamble,
          turns: script.turns.map((text, turn) => ({
            text,
            maxTokens: sampler.sample(),
            promptTokens: turn === 0 && script.preamble.length === 0
              ? pool.promptTokens[index]
              : undefined,
          })),
        };
      };
    }
    // Each prompt has its own count: the request context carries it, one context per length.
    const contexts = new Map<number, RequestContext>();
    const contextOf = (tokens: number) => {
      let found = contexts.get(tokens);
      if (found === undefined) {
        contexts.set(tokens, found = { ...context, localPromptTokens: tokens });
      }
      return found;
    };
    nextSample = () => {
      const index = draw.next();
      const sample = poolSample(pool, index, sampler.sample);
      return [
        promptOf === undefined ? sample : { ...sample, prompt: promptOf(index) },
        contextOf(pool.promptTokens[index]),
      ];
    };
  }
  if (config.mode !== "generate") {
    // Each request sends a batch of texts drawn as single prompts would be. The server counts
    // a rerank's query into each document's pair, so only embeddings compare prompt counts.
    const single = nextSample;
    const size = config.mode === "embeddings" ? config.embeddingsBatchSize : config.numDocuments;
    const comparePromptTokens = config.mode === "embeddings";
    const drawText = () => {
      const [sample, sampleContext] = single();
      return { sample, promptTokens: sampleContext.localPromptTokens };
    };
    nextSample = () => {
      const batch = drawBatch(drawText, size);
      return [batch.sample, {
        ...context,
        localPromptTokens: batch.promptTokens,
        comparePromptTokens,
      }];
    };
  }

  let epoch = 0;
  let stage = 0;
  let stopping = false;
  let users = config.users;
  // `--max-requests` is split like users, so the shards together send exactly that many.
  let sendBudget = config.maxRequests === undefined
    ? Infinity
    : shardUsers(config.maxRequests, init.shardIndex, init.shardCount).length;
  let arrivalGeneration = 0;
  const running = new Set<number>();
  const loops: Promise<void>[] = [];
  // Sessions started by QPS arrivals, each removed when it ends (a long run starts millions).
  const openSessions = new Set<Promise<void>>();
  let inFlight = 0;
  let cancelled = 0;
  let cutOffWaitMs: ShardStatus["cutOffWaitMs"];
  let lastDeltaAt = performance.now();
  /** Request log lines not posted yet (with --log-requests). */
  let logLines: RequestLogLine[] = [];
  const slotWaiters: Array<() => void> = [];
  const idleWaiters: Array<() => void> = [];

  /** Posts the request log's lines so far; with --log-requests only. */
  function postLogLines() {
    if (logLines.length === 0) return;
    post({ type: "requests", shardIndex: init.shardIndex, lines: logLines });
    logLines = [];
  }

  function postDelta() {
    postLogLines();
    const now = performance.now();
    // The delta timer itself is the lag probe: how late did it fire?
    const loopLagMs = Math.max(0, now - lastDeltaAt - DELTA_INTERVAL_MS);
    lastDeltaAt = now;
    const delta = recorder.takeDelta();
    const turns = sessions ? turnRecorder.takeDeltas() : undefined;
    if (turns !== undefined) delta.turns = turns;
    post({
      type: "delta",
      shardIndex: slot,
      epoch,
      stage,
      delta,
      status: { inFlight, cancelled, loopLagMs, ...(cutOffWaitMs ? { cutOffWaitMs } : {}) },
    });
  }

  function record(outcome: RequestOutcome, sentAt: number, turn?: number) {
    if (config.logRequests !== undefined) {
      logLines.push(requestLogLine(outcome, { sentAt, endedAt: performance.now() }));
      // Between deltas a fast run may end thousands of requests: the lines go out in batches.
      if (logLines.length >= MAX_LOG_BATCH) postLogLines();
    }
    if (outcome.ok) {
      recorder.recordRequest(outcome.record);
      if (turn !== undefined) turnRecorder.recordRequest(turn, outcome.record);
    } else if (outcome.failure.kind === "aborted" && stopping) {
      noteCutOff(performance.now() - sentAt);
    } else {
      recorder.recordFailure(outcome.failure);
      if (turn !== undefined) turnRecorder.recordFailure(turn, outcome.failure);
    }
  }

  // A stalled server shows only here: how many requests the stop cut off, and how long they hung.
  function noteCutOff(waitedMs: number) {
    cancelled++;
    cutOffWaitMs = {
      min: Math.min(cutOffWaitMs?.min ?? waitedMs, waitedMs),
      max: Math.max(cutOffWaitMs?.max ?? waitedMs, waitedMs),
    };
  }

  /**
   * Sends one request and records it; resolves whether it succeeded. A trace request or a
   * session's turn brings its own sample and context; a turn is also recorded under its index.
   */
  async function send(
    intendedStart?: number,
    given?: { sample: Sample; context: RequestContext; turn?: number },
  ): Promise<boolean> {
    if (sendBudget <= 0) return false;
    sendBudget--;
    inFlight++;
    const [drawn, sampleContext] = given ? [given.sample, given.context] : nextSample();
    // A dataset row's own images come first, then the generated ones of --images.
    const sample = pickImages === undefined
      ? drawn
      : { ...drawn, images: [...(drawn.images ?? []), ...pickImages()] };
    const cancelAfterFirstToken = cancelRate > 0 && cancelRandom.next() < cancelRate;
    const sentAt = performance.now();
    const outcome = await runRequest(sampleContext, sample, {
      intendedStart,
      stopSignal,
      cancelAfterFirstToken,
    });
    record(outcome, sentAt, given?.turn);
    inFlight--;
    slotWaiters.shift()?.();
    if (inFlight === 0) idleWaiters.splice(0).forEach((wake) => wake());
    return outcome.ok;
  }

  async function userLoop(userIndex: number, spawnAt: number) {
    running.add(userIndex);
    await clock.sleepUntil(spawnAt, stopSignal);
    const periodMs = config.burstSeconds === undefined ? undefined : config.burstSeconds * 1000;
    let intended: number | undefined;
    while (!stopping && userIndex < users && sendBudget > 0) {
      if (periodMs !== undefined) {
        intended = nextBurst(intended, periodMs);
        await clock.sleepUntil(intended, stopSignal);
        if (stopping) break;
      }
      // A request can fail without waiting for any I/O (a header the HTTP client rejects):
      // without a turn of the event loop here the user would resend in a microtask loop that
      // starves timers, deltas and the stop message. A success read a response, so the loop
      // has turned already: the hot path needs no hop.
      if (sessions) await playSession(nextSession(), sessionHooks(false));
      else if (!await send(intended)) await hop.next();
    }
    running.delete(userIndex);
  }

  /** Starts a session at a QPS arrival: it plays on while the arrivals go on. */
  function startSession(intended: number) {
    const played = playSession(nextSession(), sessionHooks(true), intended);
    openSessions.add(played);
    played.finally(() => openSessions.delete(played));
  }

  /**
   * What a session needs to play in this shard: its turns sent and recorded by turn index, the
   * answer's text (as the response reader kept it) for the history, think times drawn with the
   * shard's random source, and with `capped` (QPS mode) the in-flight cap before each turn.
   */
  function sessionHooks(capped: boolean): SessionHooks {
    return {
      async send(request) {
        let answer: string | undefined;
        const turnContext: RequestContext = {
          ...context,
          localPromptTokens: request.promptTokens,
          onResponse(text) {
            answer = text;
            context.onResponse?.(text);
          },
        };
        const sent = { sample: request.sample, context: turnContext, turn: request.turn };
        // A failure that needed no I/O must not start the next session in a microtask loop.
        if (!await send(request.intendedStart, sent)) await hop.next();
        return answer;
      },
      async waitUntil(at) {
        await clock.sleepUntil(at, stopSignal);
        if (capped && !stopping && inFlight >= capacity()) await waitForSlot();
        return !stopping && sendBudget > 0;
      },
      now: absoluteNow,
      think,
    };
  }

  /** Starts the users of this shard that are not running, spawning them from `from`. */
  function spawnUsers(from: number, firstIndex: number) {
    for (const userIndex of shardUsers(users, init.shardIndex, init.shardCount)) {
      if (running.has(userIndex)) continue;
      const spawnAt = from + spawnOffset(userIndex - firstIndex, config.spawnRate);
      loops.push(userLoop(userIndex, spawnAt));
    }
  }

  function nextBurst(previous: number | undefined, periodMs: number): number {
    const now = absoluteNow();
    if (previous === undefined) {
      return init.startAt + nextBurstOffset(now - init.startAt, periodMs);
    }
    let next = previous + periodMs;
    // A user more than a whole period late skips the bursts it missed instead of piling up.
    while (next + periodMs <= now) next += periodMs;
    return next;
  }

  async function arrivalLoop(rate: number, from: number) {
    const generation = ++arrivalGeneration;
    const arrivals = createArrivals({
      qps: rate,
      distribution: config.qpsDistribution,
      shardIndex: init.shardIndex,
      shardCount: init.shardCount,
    }, random);
    while (!stopping && generation === arrivalGeneration && sendBudget > 0) {
      const intended = from + arrivals.next();
      await clock.sleepUntil(intended, stopSignal);
      if (stopping || generation !== arrivalGeneration) break;
      if (inFlight >= capacity()) await waitForSlot();
      if (stopping) break;
      if (sessions) startSession(intended);
      else void send(intended);
    }
  }

  /** Sends the trace's requests at their times (open loop, like QPS mode), then is done. */
  async function traceLoop(trace: Trace) {
    const prompts = createTracePrompts(
      await (tokenizer ??= loadTokenizer(localSpec)),
      createRandom(deriveSeed(init.seed, init.shardCount + init.shardIndex)),
    );
    for (let i = 0; i < trace.count && !stopping && sendBudget > 0; i++) {
      const intended = init.startAt + traceSendOffset(trace.offsets[i], config.traceSpeed);
      // Built before the wait, so the send is not late by the prompt's concatenation.
      const promptTokens = trace.inputLengths[i];
      const prompt = prompts.prompt(blocksOf(trace, i), promptTokens);
      await clock.sleepUntil(intended, stopSignal);
      if (stopping) break;
      if (inFlight >= capacity()) await waitForSlot();
      if (stopping) break;
      void send(intended, {
        sample: { prompt, maxTokens: trace.outputLengths[i] },
        context: { ...context, localPromptTokens: promptTokens },
      });
    }
  }

  /** Counts a capped send and waits until a request in flight ends (or the shard stops). */
  async function waitForSlot() {
    recorder.noteCapped();
    while (inFlight >= capacity() && !stopping) {
      await new Promise<void>((wake) => slotWaiters.push(wake));
    }
  }

  /** Requests this shard may have in flight in QPS mode: its share of `-u`. */
  function capacity(): number {
    return Math.max(1, shardUsers(users, init.shardIndex, init.shardCount).length);
  }

  function whenIdle(): Promise<void> {
    return inFlight === 0 ? Promise.resolve() : new Promise((wake) => idleWaiters.push(wake));
  }

  let stopRequested: (graceMs: number) => void = () => {};
  // Aborted when the grace period is over, or at once by a second, immediate stop.
  const graceOver = new AbortController();
  const stopped = new Promise<number>((resolve) => stopRequested = resolve);

  async function run() {
    const interval = setInterval(postDelta, DELTA_INTERVAL_MS);
    try {
      if (init.clockBuffer === undefined) ownClock = await startClockThread(1);
      clock = init.clockBuffer === undefined
        ? createClock(ownClock!.buffer, 0)
        : createClock(init.clockBuffer, slot);
      // A trace brings its own prompts: --prompt-randomize is ignored with it (options/config.ts).
      if (
        config.promptRandomize && config.promptText === undefined &&
        config.datasets === undefined && init.trace === undefined
      ) {
        const promptTokenizer = await (tokenizer ??= loadTokenizer(localSpec));
        const promptRandom = createRandom(deriveSeed(init.seed, init.shardCount + init.shardIndex));
        if (pool !== undefined) promptOf = randomizedPrompts(pool, promptTokenizer, promptRandom);
        else {
          nextPrompt =
            createPromptSource(config.promptTokens, promptTokenizer, { random: promptRandom }).next;
        }
      }
      if (init.trace !== undefined) loops.push(traceLoop(init.trace));
      else if (config.qps === undefined) spawnUsers(init.startAt, 0);
      else loops.push(arrivalLoop(config.qps, init.startAt));
      const graceMs = await stopped;
      const graceTimer = setTimeout(() => graceOver.abort(), graceMs);
      await Promise.race([whenIdle(), new Promise((wake) => graceOver.signal.onabort = wake)]);
      clearTimeout(graceTimer);
      stopController.abort();
      await Promise.all(loops);
      await Promise.all(openSessions);
      await whenIdle();
    } catch (error) {
      post({ type: "error", shardIndex: slot, message: maskError(error, secrets) });
    } finally {
      clearInterval(interval);
      hop.close();
      clock?.close();
      ownClock?.close();
      transport.close();
      sideFetch.close();
      postDelta();
      post({ type: "done", shardIndex: slot });
    }
  }

  const finished = run();

  return {
    reset(next: number) {
      postDelta();
      epoch = next;
    },
    setLoad(load: LoadChange) {
      if (stopping) return;
      if (load.stage !== undefined) {
        // What completed so far belongs to the stage before.
        postDelta();
        stage = load.stage;
      }
      const before = users;
      if (load.users !== undefined) users = load.users;
      if (init.trace !== undefined) slotWaiters.splice(0).forEach((wake) => wake());
      else if (config.qps === undefined) {
        if (users > before) spawnUsers(load.at, before);
      } else {
        slotWaiters.splice(0).forEach((wake) => wake());
        if (load.qps !== undefined) loops.push(arrivalLoop(load.qps, load.at));
      }
    },
    stop(graceMs: number) {
      if (stopping) {
        if (graceMs === 0) graceOver.abort();
        return;
      }
      stopping = true;
      slotWaiters.splice(0).forEach((wake) => wake());
      stopRequested(graceMs);
    },
    finished,
  };
}

/**
 * One turn of the event loop at a time, through a `MessageChannel` (a hop costs ~5 µs in
 * Deno 2.9, against ~2 ms for `setTimeout(0)`), which lets timers and I/O run in between.
 */
function createEventLoopHop(): { next(): Promise<void>; close(): void } {
  let channel: MessageChannel | undefined;
  const waiting: Array<() => void> = [];
  return {
    next() {
      if (channel === undefined) {
        channel = new MessageChannel();
        channel.port1.onmessage = () => waiting.shift()?.();
      }
      const { promise, resolve } = Promise.withResolvers<void>();
      waiting.push(resolve);
      channel.port2.postMessage(0);
      return promise;
    },
    close() {
      channel?.port1.close();
      channel?.port2.close();
      channel = undefined;
      waiting.splice(0).forEach((wake) => wake());
    },
  };
}
