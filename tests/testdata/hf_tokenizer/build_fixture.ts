/**
 * Writes `tokenizer.json` beside this file: a tiny byte-level BPE tokenizer in the Hugging Face
 * format (GPT-2 byte alphabet, GPT-2 pre-tokenizer regex), built by hand so tests need no
 * download. Only the words below have merges, so each is one token alone and after a space;
 * every other word falls apart into several byte-level tokens, which exercises the seams that
 * exact-length prompts must handle. It also writes `llama3_bos/tokenizer.json`: the same
 * tokenizer with a Llama-3-style post-processor (`Sequence` of `ByteLevel` and a
 * `TemplateProcessing` that puts `<|begin_of_text|>` before every sequence), so a server using it
 * counts one token more per prompt than the text has. Run:
 * `deno run -A tests/testdata/hf_tokenizer/build_fixture.ts && deno fmt tests/testdata/hf_tokenizer`
 *
 * @module
 */

/** Words that become single tokens: the prompt padding, random padding words, mock output. */
const WORDS = [
  "Pad",
  ...("time year people way day man thing woman life child world school state family student " +
    "group country problem hand part").split(" "),
  "the",
  "of",
  "and",
  "to",
  "in",
  "a",
  "is",
  "that",
];

/** GPT-2's byte-to-character table: printable bytes map to themselves, the rest above 255. */
function byteAlphabet(): string[] {
  const printable = (b: number) =>
    (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const chars: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) chars.push(String.fromCodePoint(printable(b) ? b : 256 + extra++));
  return chars;
}

function build() {
  const vocab: Record<string, number> = {};
  const merges: string[] = [];
  for (const char of byteAlphabet()) vocab[char] = Object.keys(vocab).length;
  const addChain = (token: string) => {
    const chars = [...token];
    let current = chars[0];
    for (const char of chars.slice(1)) {
      const merged = current + char;
      if (!(merged in vocab)) {
        merges.push(`${current} ${char}`);
        vocab[merged] = Object.keys(vocab).length;
      }
      current = merged;
    }
  };
  // Chains after a space first: their merges outrank every bare-word merge, so a bare-word merge
  // can never split a word that follows a space.
  for (const word of WORDS) addChain(`\u0120${word}`);
  for (const word of WORDS) addChain(word);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: {
      type: "ByteLevel",
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

const BOS = "<|begin_of_text|>";

/** The tokenizer with Llama 3's BOS token and post-processor (meta-llama/Meta-Llama-3-8B). */
function withBos(tokenizer: ReturnType<typeof build>) {
  const id = Object.keys(tokenizer.model.vocab).length;
  const bos = { SpecialToken: { id: BOS, type_id: 0 } };
  return {
    ...tokenizer,
    added_tokens: [{
      id,
      content: BOS,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }],
    post_processor: {
      type: "Sequence",
      processors: [
        { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: "TemplateProcessing",
          single: [bos, { Sequence: { id: "A", type_id: 0 } }],
          pair: [
            bos,
            { Sequence: { id: "A", type_id: 0 } },
            { SpecialToken: { id: BOS, type_id: 1 } },
            { Sequence: { id: "B", type_id: 1 } },
          ],
          special_tokens: { [BOS]: { id: BOS, ids: [id], tokens: [BOS] } },
        },
      ],
    },
  };
}

if (import.meta.main) {
  const tokenizer = build();
  await Deno.writeTextFile(
    new URL("./tokenizer.json", import.meta.url),
    JSON.stringify(tokenizer) + "\n",
  );
  await Deno.mkdir(new URL("./llama3_bos", import.meta.url), { recursive: true });
  await Deno.writeTextFile(
    new URL("./llama3_bos/tokenizer.json", import.meta.url),
    JSON.stringify(withBos(tokenizer)) + "\n",
  );
}
