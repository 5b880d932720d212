// Random conversations rendered by @huggingface/jinja (transformers.js' engine, which renders as
// Python's jinja2 in transformers does) for every recognised template of
// tests/data/chat_templates/ and the three of the shared families pack: the live oracle of
// tests/integration/chat_oracle.sh. Writes, per template, OUT/NAME.in.jsonl (the conversations,
// for `llamps chat-prompt`) and OUT/NAME.want.jsonl (the engine's text, or its refusal).
//   node chat_oracle.mjs JINJA_MODULE_DIR SRC_DIR FAMILIES_DIR OUT_DIR COUNT SEED
import { createRequire } from "module";
import fs from "fs";
import path from "path";

const [moduleDir, src, families, out, count, seed] = process.argv.slice(2);
const { Template } = createRequire(path.resolve(moduleDir, "x.js"))("@huggingface/jinja");

let state = BigInt(seed) || 1n; // xorshift64: the same conversations for the same seed
const random = (n) => {
  state ^= (state << 13n) & 0xffffffffffffffffn;
  state ^= state >> 7n;
  state ^= (state << 17n) & 0xffffffffffffffffn;
  return Number(state % BigInt(n));
};
// Fragments with what templates treat specially: edge whitespace (trim, strip), newlines around
// <think> blocks (Qwen3 splits on them), marker-looking text, multi-byte characters. No
// Unicode whitespace at the edges: llamps strips ASCII whitespace only (docs/chat.md).
const fragments = ["Hello", " world", "  ", "\n", "\n\n", "\t", "é", "漢字", "😀", ".", "?", "<think>", "</think>",
                   "\nreasoning\n", "[INST]", "<|eot_id|>", "{{ x }}", "'", '"', "\\n", "a b"];
const content = () => Array.from({ length: random(7) }, () => fragments[random(fragments.length)]).join("");
const conversation = () => {
  const messages = [];
  if (random(3) === 0) messages.push({ role: "system", content: content() });
  const turns = 1 + random(5);
  for (let i = 0; i < turns; i++) messages.push({ role: i % 2 ? "assistant" : "user", content: content() });
  return { messages, add_generation_prompt: random(2) === 0 };
};

const templates = JSON.parse(fs.readFileSync(path.join(src, "tests/data/chat_templates/templates.json"), "utf8"))
  .filter((t) => t.family !== null && t.render !== false)
  .map((t) => ({ ...t, path: path.join(src, "tests/data/chat_templates", t.file) }));
templates.push(
  { file: "llama3.jinja", path: path.join(families, "chat/templates/llama3.jinja"), bos: "<|begin_of_text|>", eos: "<|end_of_text|>" },
  { file: "llama2.jinja", path: path.join(families, "chat/templates/llama2.jinja"), bos: "<s>", eos: "</s>" },
  { file: "qwen3.jinja", path: path.join(families, "chat/templates/qwen3.jinja"), bos: "", eos: "<|im_end|>" });
fs.mkdirSync(out, { recursive: true });
let rendered = 0, refused = 0;
for (const t of templates) {
  const template = new Template(fs.readFileSync(t.path, "utf8"));
  const inputs = [], wants = [];
  for (let i = 0; i < Number(count); i++) {
    const c = conversation();
    try {
      wants.push({ text: template.render({ ...c, bos_token: t.bos, eos_token: t.eos }) });
      rendered++;
    } catch (e) {
      wants.push({ refused: String(e.message || e) });
      refused++;
    }
    inputs.push(c);
  }
  const name = t.file.replace(/\.jinja$/, "");
  fs.writeFileSync(path.join(out, `${name}.in.jsonl`), inputs.map((x) => JSON.stringify(x)).join("\n") + "\n");
  fs.writeFileSync(path.join(out, `${name}.want.jsonl`), wants.map((x) => JSON.stringify(x)).join("\n") + "\n");
  fs.writeFileSync(path.join(out, `${name}.args`), JSON.stringify({ path: t.path, bos: t.bos, eos: t.eos }));
}
console.log(`${templates.length} templates, ${rendered} renders, ${refused} refused by the template`);
