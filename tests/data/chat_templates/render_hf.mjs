// Renders every template of templates.json with transformers.js' Jinja engine
// (@huggingface/jinja 0.5.11, which renders as Python's jinja2 in transformers does), on the
// conversations below, with and without add_generation_prompt: the expected texts of
// tests/test_chat_template.cpp. Writes rendered_hf.jsonl next to this file.
//   npm install --prefix /tmp/hf @huggingface/jinja@0.5.11
//   NODE_PATH=/tmp/hf/node_modules node render_hf.mjs
import { createRequire } from "module";
import fs from "fs";
import path from "path";
import { fileURLToPath } from "url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(process.env.NODE_PATH || process.cwd(), "x.js"));
const { Template } = require("@huggingface/jinja");

const conversations = {
  system_user: [{ role: "system", content: "You are a helpful assistant." }, { role: "user", content: "Hello, who are you?" }],
  user_only: [{ role: "user", content: "What is 2+2?" }],
  multi_turn: [{ role: "user", content: "Hi!" }, { role: "assistant", content: "Hello! How can I help you today?" },
               { role: "user", content: "  Tell me a joke.  " }],
  system_multi_turn: [{ role: "system", content: "Answer briefly." }, { role: "user", content: "Capital of France?" },
                      { role: "assistant", content: " Paris. " }, { role: "user", content: "And of Italy?" }],
  ends_with_answer: [{ role: "user", content: "Hi!" }, { role: "assistant", content: "Hello there." }],
};

const rows = [];
const templates = JSON.parse(fs.readFileSync(path.join(here, "templates.json"), "utf8"));
for (const t of templates) {
  if (t.family === null || t.render === false) continue;
  const text = fs.readFileSync(path.join(here, t.file), "utf8");
  for (const [name, messages] of Object.entries(conversations))
    for (const agp of [false, true]) {
      const row = { file: t.file, conversation: name, messages, add_generation_prompt: agp, bos: t.bos, eos: t.eos };
      try {
        row.rendered = new Template(text).render({
          messages, add_generation_prompt: agp, bos_token: t.bos, eos_token: t.eos });
      } catch (e) {
        row.error = String(e.message || e);
      }
      rows.push(row);
    }
}
fs.writeFileSync(path.join(here, "rendered_hf.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
console.log(`${rows.length} renderings, ${rows.filter((r) => r.error).length} refused by the template`);
