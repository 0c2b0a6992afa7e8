import assert from "node:assert/strict";
import { decode, encode } from "fast-png";
import { UsageError } from "../common/errors.ts";
import { contentParts } from "../providers/_content.ts";
import { createImagePicker, createImages } from "../load/images.ts";
import { createRandom } from "../load/random.ts";
import type { MockRecord } from "../mock/server.ts";
import { IMAGE_TOKENS } from "../mock/images.ts";
import { completionRecords, runAgainst, withMock, withTempDir } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";
import { probeTarget } from "../run/probe.ts";
import { createResponsesProvider } from "../providers/openai_responses.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** The content parts of the last message a chat request sent. */
function lastContent(record: MockRecord): { type: string; [key: string]: unknown }[] {
  const body = record.body as { messages?: { content: unknown }[]; input?: { content: unknown }[] };
  const messages = body.messages ?? body.input!;
  return messages[messages.length - 1].content as { type: string }[];
}

/** The width and height of a PNG `data:` URL, read back by fast-png. */
function pngSize(url: string): [number, number] {
  const png = decode(Uint8Array.fromBase64(url.slice(url.indexOf(",") + 1)));
  return [png.width, png.height];
}

Deno.test("images: generated PNGs of the asked sizes, handed out in turn, noise that differs", () => {
  const images = createImages([{ width: 7, height: 5 }, { width: 3, height: 9 }], createRandom(4));
  assert.deepEqual(images.map(pngSize), [[7, 5], [3, 9]]);
  assert.ok(images.every((url) => url.startsWith("data:image/png;base64,")));
  assert.deepEqual(createImages([{ width: 7, height: 5 }], createRandom(4)), [images[0]]);
  assert.notEqual(createImages([{ width: 7, height: 5 }], createRandom(5))[0], images[0]);
  const pick = createImagePicker(["a", "b", "c"], 2);
  assert.deepEqual([pick(), pick(), pick()], [["a", "b"], ["c", "a"], ["b", "c"]]);
});

Deno.test("image positions: before, after, and interleaved between pieces of the text", () => {
  const text = "one two three four five six";
  assert.deepEqual(contentParts(text, ["i1"], "before"), [{ image: "i1" }, { text }]);
  assert.deepEqual(contentParts(text, ["i1"], "after"), [{ text }, { image: "i1" }]);
  const parts = contentParts(text, ["i1", "i2"], "interleave");
  assert.deepEqual(parts.map((part) => "image" in part ? part.image : "text"), [
    "text",
    "i1",
    "text",
    "i2",
    "text",
  ]);
  const pieces = parts.flatMap((part) => "text" in part ? [part.text] : []);
  assert.equal(pieces.join(""), text);
  assert.deepEqual(pieces, ["one two", " three four", " five six"]);
});

Deno.test("bad chat-feature options: one line saying what is wrong and what would be right", () => {
  const refused: [string[], RegExp][] = [
    [["--chat", "--images", "512"], /Invalid --images '512': expected sizes WxH\[,WxH\.\.\.\]/],
    [["--chat", "--images", "64x8193"], /Invalid --images '64x8193'.*1 to 8192 pixels a side/],
    [["--chat", "--images", "0x64"], /Invalid --images '0x64'/],
    [["--images", "64x64"], /Cannot use --images with the completions API.*add --chat/],
    [["--reasoning-effort", "low"], /Cannot use --reasoning-effort with the completions API/],
    [["--chat", "--reasoning-effort", "max"], /expected none, low, medium or high/],
    [["--api", "grpc"], /Invalid --api 'grpc': expected chat, completions or responses/],
    [["--api", "completions", "--chat"], /Cannot use --api completions together with --chat/],
    [
      ["--api", "responses", "-n", "2"],
      /Cannot use --n with --api responses: the Responses API generates one reply per/,
    ],
    [["--api", "responses", "--logprobs", "1"], /Cannot use --logprobs with --api responses/],
    [["--cancel-rate", "1.5"], /Invalid --cancel-rate '1.5': expected a number from 0 to 1/],
    [["--cancel-rate", "-0.1"], /Invalid --cancel-rate '-0.1'/],
    [["--cancel-rate", "0.5", "--no-stream"], /Cannot use --cancel-rate with --no-stream/],
  ];
  for (const [args, message] of refused) {
    assert.throws(() => runConfig(args), (error: unknown) => {
      assert.ok(error instanceof UsageError, `${args.join(" ")}: ${error}`);
      assert.match(error.message, message);
      assert.equal(error.message.split("\n").length, 1);
      return true;
    });
  }
  assert.equal(runConfig(["--api", "responses"]).chat, true);
  assert.equal(runConfig(["--api", "chat"]).chat, true);
  assert.equal(runConfig(["--chat"]).api, undefined);
});

Deno.test("end to end: --images sends image_url parts that reach the mock, counted in its prompt tokens", async () => {
  await withMock({ ttftMs: 1, itlMs: 1, seed: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "--chat",
      "--images",
      "32x16,8x8",
      "--images-per-request",
      "3",
      "--images-position",
      "after",
      "--max-requests",
      "4",
      "-p",
      "10",
      "--max-tokens",
      "4",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const records = completionRecords(mock.records());
    assert.equal(records.length, 4);
    for (const record of records) {
      assert.equal(record.images, 3);
      const content = lastContent(record);
      assert.deepEqual(content.map((part) => part.type), [
        "text",
        "image_url",
        "image_url",
        "image_url",
      ]);
      const url = (content[1].image_url as { url: string }).url;
      assert.ok(url.startsWith("data:image/png;base64,"));
    }
    // Sizes in turn over the run: 32x16, 8x8, 32x16 | 8x8, 32x16, 8x8 | ...
    const sizes = records.flatMap((record) =>
      lastContent(record).slice(1).map((part) => pngSize((part.image_url as { url: string }).url))
    );
    assert.equal(sizes.filter(([w]) => w === 32).length, 6);
    assert.equal(sizes.filter(([w]) => w === 8).length, 6);
    // The server's prompt count includes the images, and llmload reports the server's count.
    const prompt = records[0].promptTokens!;
    assert.ok(prompt >= 3 * IMAGE_TOKENS + 10, `prompt tokens ${prompt}`);
    assert.equal(run.results.tokens.prompt, records.reduce((s, r) => s + r.promptTokens!, 0));
  });
});

Deno.test("end to end: --reasoning-effort is sent, reasoning deltas time TTFT apart from TTFVT, reasoning tokens summed", async () => {
  await withMock({ ttftMs: 1, itlMs: 5, seed: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "--chat",
      "--reasoning-effort",
      "medium",
      "--max-requests",
      "3",
      "-p",
      "8",
      "--max-tokens",
      "8",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const records = completionRecords(mock.records());
    assert.equal(records.length, 3);
    for (const record of records) {
      assert.equal((record.body as { reasoning_effort: string }).reasoning_effort, "medium");
    }
    // medium: half of each reply's 8 tokens are reasoning.
    assert.equal(run.results.tokens.reasoning, 3 * 4);
    assert.equal(run.results.tokens.output, 3 * 8);
    const { ttft, ttfvt } = run.results.metrics;
    assert.equal(ttft?.count, 3);
    assert.equal(ttfvt?.count, 3);
    // The first visible token comes 4 tokens (4 × 5 ms) after the first reasoning token.
    assert.ok(ttfvt!.min - ttft!.min >= 15, `ttft ${ttft!.min} ttfvt ${ttfvt!.min}`);
    assert.match(run.out, /Reasoning tokens: 12 of 24 output tokens/);
  });
});

Deno.test("end to end: --cancel-rate closes that share of streams after their first token, counted as cancelled", async () => {
  await withMock({ ttftMs: 1, itlMs: 10, seed: 1 }, async (mock) => {
    const args = ["--cancel-rate", "0.5", "--seed", "3", "--max-requests", "20", "-u", "4"];
    args.push("--workers", "2", "-p", "8", "--max-tokens", "20");
    const run = await runAgainst(mock, args);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const records = completionRecords(mock.records());
    assert.equal(records.length, 20);
    const cut = records.filter((record) => record.aborted);
    const cancelled = run.results.tokens.cancelled;
    assert.ok(cancelled > 0 && cancelled < 20, `cancelled ${cancelled}`);
    // What the mock saw closed is what llmload counted as cancelled: never a failure.
    assert.equal(cut.length, cancelled);
    assert.ok(cut.every((record) => record.tokensSent < 20 && record.doneAt === undefined));
    assert.equal(run.results.requests.failed, 0);
    assert.equal(run.results.requests.ok, 20);
    assert.equal(run.results.metrics.ttft?.count, 20);
    assert.equal(run.results.metrics.total_latency?.count, 20 - cancelled);
    assert.equal(run.results.tokens.output, (20 - cancelled) * 20);
    assert.match(run.out, new RegExp(`Cancelled: ${cancelled} of 20 requests`));
    // The same seed cancels the same share again.
    mock.clearRecords();
    const again = await runAgainst(mock, args);
    assert.equal(again.results.tokens.cancelled, cancelled);
  });
});

Deno.test("end to end: --api responses streams /v1/responses events, with usage, images and reasoning", async () => {
  await withMock({ ttftMs: 1, itlMs: 2, seed: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "--api",
      "responses",
      "--images",
      "16x16",
      "--reasoning-effort",
      "low",
      "--max-requests",
      "3",
      "-p",
      "8",
      "--max-tokens",
      "8",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const records = completionRecords(mock.records());
    assert.deepEqual(records.map((record) => record.path), Array(3).fill("/v1/responses"));
    for (const record of records) {
      const body = record.body as Record<string, unknown>;
      assert.equal(body.max_output_tokens, 8);
      assert.deepEqual(body.reasoning, { effort: "low" });
      assert.equal(record.images, 1);
      assert.deepEqual(lastContent(record).map((part) => part.type), ["input_image", "input_text"]);
    }
    assert.equal(run.results.tokens.sources.usage, 3);
    assert.equal(run.results.tokens.output, 24);
    assert.equal(run.results.tokens.reasoning, 3 * 2);
    assert.equal(run.results.tokens.prompt, records.reduce((s, r) => s + r.promptTokens!, 0));
    assert.equal(run.results.metrics.ttft?.count, 3);
    assert.equal(run.results.metrics.itl?.count, 3 * 7);
  });
});

Deno.test("end to end: --api responses without streaming reads the response object", async () => {
  await withMock({ ttftMs: 1, itlMs: 1, seed: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "--api",
      "responses",
      "--no-stream",
      "--max-requests",
      "2",
      "-p",
      "8",
      "--max-tokens",
      "5",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    assert.equal(run.results.requests.ok, 2);
    assert.equal(run.results.tokens.output, 10);
    assert.equal(run.results.tokens.sources.usage, 2);
  });
});

Deno.test("a provider without the Responses API: one line naming those that have it, exit 2", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "-H", mock.url, "--provider", "tgi", "--api", "responses"],
      env: { NO_COLOR: "1", LLMLOAD_API_KEY: "", OPENAI_API_KEY: "" },
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 2, stderr);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
    assert.match(
      stderr,
      /The tgi dialect has no Responses API: use --api chat, or a provider that has one \(openai, /,
    );
    assert.equal(completionRecords(mock.records()).length, 0);
  });
});

Deno.test("probe: says whether the server has /v1/responses and accepts images, from what reached it", async () => {
  await withMock({ ttftMs: 1, itlMs: 1, seed: 1 }, async (mock) => {
    const report = await probeTarget(runConfig(["-H", mock.url]));
    const rows = Object.fromEntries(report.rows.map((row) => [row.feature, row]));
    assert.equal(rows["images"].verdict, "yes");
    assert.match(rows["images"].detail, /^accepted, \d+ prompt tokens with one 16x16 image$/);
    assert.equal(rows["responses API"].verdict, "yes");
    assert.equal(rows["responses API"].detail, "/v1/responses: 32 tokens");
    const records = completionRecords(mock.records());
    assert.equal(records.filter((record) => record.images === 1).length, 1);
    assert.equal(records.filter((record) => record.path === "/v1/responses").length, 1);
  });
  // A dialect without the Responses API is n/a; TGI's Messages API takes image parts.
  await withMock({ ttftMs: 1, itlMs: 1, seed: 1, dialect: "tgi" }, async (mock) => {
    const report = await probeTarget(runConfig(["-H", mock.url, "--provider", "tgi"]));
    const rows = Object.fromEntries(report.rows.map((row) => [row.feature, row]));
    assert.equal(rows["responses API"].verdict, "n/a");
    assert.equal(rows["images"].verdict, "yes");
  });
});

Deno.test("end to end: /v1/responses gets the mock's faults, and a stream without response.completed is a bad_response", async () => {
  const args = ["--api", "responses", "--max-requests", "4", "-p", "8", "--max-tokens", "6"];
  await withMock({ ttftMs: 1, itlMs: 1, faults: [{ kind: "no_done", rate: 1 }] }, async (mock) => {
    const run = await runAgainst(mock, [...args, "--keep-going"]);
    assert.equal(run.exitCode, 1);
    assert.equal(run.results.requests.failed, 4);
    assert.deepEqual(run.results.failures.bad_response?.messages, [
      "Stream ended without its final event: it may be cut short",
    ]);
    assert.ok(completionRecords(mock.records()).every((record) => record.fault === "no_done"));
  });
  await withMock({ ttftMs: 1, itlMs: 1, faults: [{ kind: "http_503", rate: 1 }] }, async (mock) => {
    const run = await runAgainst(mock, [...args, "--keep-going"]);
    assert.equal(run.results.failures.http_5xx?.count, 4);
  });
});

Deno.test("the Responses API reader: text and reasoning deltas, usage from response.completed, errors quoted", () => {
  const provider = createResponsesProvider(
    { model: "m", chat: true, stream: true, temperature: 1, responses: true },
    "openai",
  );
  assert.deepEqual(provider.parseEvent('{"type":"response.output_text.delta","delta":" hi"}'), {
    text: " hi",
    reasoning: "",
  });
  assert.deepEqual(
    provider.parseEvent('{"type":"response.reasoning_summary_text.delta","delta":"hm"}'),
    { text: "", reasoning: "hm" },
  );
  assert.deepEqual(provider.parseEvent('{"type":"response.in_progress","response":{}}'), {
    text: "",
    reasoning: "",
  });
  const completed = provider.parseEvent(JSON.stringify({
    type: "response.completed",
    response: {
      usage: {
        input_tokens: 12,
        input_tokens_details: { cached_tokens: 4 },
        output_tokens: 9,
        output_tokens_details: { reasoning_tokens: 5 },
      },
    },
  }));
  assert.deepEqual(completed, {
    text: "",
    reasoning: "",
    end: true,
    usage: { promptTokens: 12, completionTokens: 9, cachedPromptTokens: 4, reasoningTokens: 5 },
  });
  assert.throws(
    () => provider.parseEvent('{"type":"error","error":{"message":"overloaded"}}'),
    /Server sent an error event: \{"message":"overloaded"\}/,
  );
  assert.throws(
    () => provider.parseEvent('{"type":"response.failed","response":{"error":{"code":"x"}}}'),
    /Server sent an error event: \{"code":"x"\}/,
  );
  const request = JSON.parse(provider.request({ prompt: "Hi", maxTokens: 5 }).body);
  assert.deepEqual(request, {
    model: "m",
    input: [{ role: "user", content: "Hi" }],
    max_output_tokens: 5,
    temperature: 1,
    stream: true,
  });
});

Deno.test("end to end: dataset rows name image files, read before the run and sent with the row", async () => {
  await withTempDir(async (dir) => {
    const png = encode({
      width: 3,
      height: 2,
      data: new Uint8Array(3 * 2 * 3).fill(9),
      channels: 3,
    });
    await Deno.mkdir(`${dir}/img`);
    await Deno.writeFile(`${dir}/img/a.png`, png);
    const rows = [
      { prompt: "describe this", images: ["img/a.png"] },
      { prompt: "and nothing here" },
    ];
    await Deno.writeTextFile(`${dir}/rows.jsonl`, rows.map((r) => JSON.stringify(r)).join("\n"));
    await withMock({ ttftMs: 1, itlMs: 1, seed: 1 }, async (mock) => {
      const run = await runAgainst(mock, [
        "--chat",
        "--dataset",
        `${dir}/rows.jsonl`,
        "--max-requests",
        "2",
        "--max-tokens",
        "4",
      ]);
      assert.equal(run.exitCode, 0, run.log.join("\n"));
      const records = completionRecords(mock.records());
      const withImage = records.find((record) => record.images === 1)!;
      const part = lastContent(withImage)[0];
      assert.equal(
        (part.image_url as { url: string }).url,
        `data:image/png;base64,${png.toBase64()}`,
      );
      assert.equal(records.filter((record) => record.images === undefined).length, 1);
    });
    // A file that is not there, or not an image, or rows with images without a chat API: exit 2.
    const bad: [object, string[], RegExp][] = [
      [
        { prompt: "x", images: ["missing.png"] },
        ["--chat"],
        /image 'missing.png' cannot be read \(no such file\)/,
      ],
      [
        { prompt: "x", images: ["rows.jsonl"] },
        ["--chat"],
        /image 'rows.jsonl' is not a .png, .jpg/,
      ],
      [
        { prompt: "x", images: "a.png" },
        ["--chat"],
        /has images that are not an array of file paths/,
      ],
      [
        { prompt: "x", images: ["img/a.png"] },
        [],
        /its rows name images, which go in chat messages; add --chat/,
      ],
    ];
    for (const [row, args, message] of bad) {
      await Deno.writeTextFile(`${dir}/bad.jsonl`, JSON.stringify(row));
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          MAIN,
          "-H",
          "http://127.0.0.1:9",
          ...args,
          "--dataset",
          `${dir}/bad.jsonl`,
        ],
        env: { NO_COLOR: "1", LLMLOAD_API_KEY: "", OPENAI_API_KEY: "" },
        stdout: "piped",
        stderr: "piped",
        stdin: "null",
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 2, stderr);
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
      assert.match(stderr, message);
    }
  });
});

Deno.test("mock: reasoning in whole chat replies and responses, effort none counts 0, an unknown effort is a 400", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const post = (path: string, body: object) =>
      fetch(`${mock.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "mock-model", max_tokens: 8, ...body }),
      });
    const chat = await (await post("/v1/chat/completions", {
      messages: [{ role: "user", content: "hi" }],
      reasoning_effort: "low",
    })).json();
    assert.equal(chat.choices[0].message.reasoning_content, " the of");
    assert.equal(chat.choices[0].message.content, " and to in a is that");
    assert.equal(chat.usage.completion_tokens_details.reasoning_tokens, 2);
    const none = await (await post("/v1/chat/completions", {
      messages: [{ role: "user", content: "hi" }],
      reasoning_effort: "none",
    })).json();
    assert.equal(none.usage.completion_tokens_details.reasoning_tokens, 0);
    assert.equal(none.choices[0].message.reasoning_content, undefined);
    const whole = await (await post("/v1/responses", {
      input: "hi",
      max_output_tokens: 4,
      reasoning: { effort: "high" },
    })).json();
    assert.deepEqual(whole.output.map((item: { type: string }) => item.type), [
      "reasoning",
      "message",
    ]);
    assert.equal(whole.output[1].content[0].text, " to");
    assert.equal(whole.usage.output_tokens_details.reasoning_tokens, 3);
    const refused = await post("/v1/chat/completions", {
      messages: [{ role: "user", content: "hi" }],
      reasoning_effort: "extreme",
    });
    assert.equal(refused.status, 400);
    assert.match((await refused.json()).error.message, /Cannot use reasoning effort "extreme"/);
  });
});
