// Drives the HTTP API with the unmodified `openai` npm package, as any program would:
//   node openai_check.mjs BASE_URL API_KEY MODEL PROMPT MAX_TOKENS
// Prints one JSON object: the greedy text of each call (completion and chat, streaming and
// not) and the model ids. tests/integration/http_api.sh compares them with llamps generate.
import OpenAI from 'openai';

const [baseURL, apiKey, model, prompt, maxTokens] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120000 });
const max_tokens = Number(maxTokens);

async function streamed(stream, pick) {
  let text = '';
  for await (const chunk of stream) text += pick(chunk) ?? '';
  return text;
}

const completion = await client.completions.create({ model, prompt, max_tokens, temperature: 0 });
const completionStream = await client.completions.create({ model, prompt, max_tokens, temperature: 0, stream: true });
const messages = [{ role: 'user', content: prompt }];
const chat = await client.chat.completions.create({ model, messages, max_tokens, temperature: 0 });
const chatStream = await client.chat.completions.create({ model, messages, max_tokens, temperature: 0, stream: true });
const models = [];
for await (const m of client.models.list()) models.push(m.id);

console.log(JSON.stringify({
  completion: completion.choices[0].text,
  completion_stream: await streamed(completionStream, (c) => c.choices[0]?.text),
  chat: chat.choices[0].message.content,
  chat_stream: await streamed(chatStream, (c) => c.choices[0]?.delta?.content),
  usage: completion.usage,
  models,
}));
