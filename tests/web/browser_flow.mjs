// Walks the whole flow of the web page in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core): API key, servers, a catalog model, plan, deploy, generate, chat.
//   node browser_flow.mjs BASE_URL API_KEY MODEL_PATH PROMPT MAX_TOKENS SCREENSHOT_DIR
// Saves a screenshot per stage and prints {"generated": TEXT, ...} as its last line.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, apiKey, modelPath, prompt, maxTokens, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'llamps-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1200, height: 900 },
});
const page = context.pages()[0] ?? await context.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
// Requests made before the key is entered fail with 401, and Chromium logs each: expected.
page.on('console', (m) => {
  if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
});
const shot = (name) => page.screenshot({ path: join(shots, name), fullPage: true });
const step = (what) => console.error(`browser: ${what}`);

try {
  await page.goto(base, { waitUntil: 'load' });

  step('the page asks for the API key');
  await page.locator('#key-box').waitFor({ state: 'visible' });
  await page.fill('#api-key', apiKey);
  await page.locator('#api-key').dispatchEvent('change');

  step('available servers: the demo\'s three contributors');
  await page.waitForFunction(() => document.querySelectorAll('#servers-table tbody tr').length === 3);
  await page.waitForFunction(() => document.querySelector('#machine-role').textContent.length > 0);
  await shot('01-servers.png');

  step('a catalog model shows its blocks and memory at once');
  await page.fill('#model-input', 'llama-2-70b');
  await page.waitForFunction(() => /80/.test(document.querySelector('#model-summary .facts')?.textContent ?? ''));
  await page.fill('#model-input', 'my-llama');
  await page.fill('#params-input', '13b');
  await page.waitForFunction(() => /scaled/.test(document.querySelector('#model-summary')?.textContent ?? ''));
  await shot('02-catalog-model.png');

  step('the GGUF model: 5 blocks');
  // The path first: clearing the size while the name is still 'my-llama' would describe an
  // unknown name without a size (a 404 the console reports) if the page asked in between.
  await page.fill('#model-input', modelPath);
  await page.fill('#params-input', '');
  await page.waitForFunction(() => /stories260K/.test(document.querySelector('#model-summary .model-name')?.textContent ?? ''));
  const facts = await page.$$eval('#model-summary .facts .fact',
    (els) => Object.fromEntries(els.map((e) => [e.querySelector('span').textContent, e.querySelector('b').textContent])));
  if (facts.Blocks?.trim() !== '5') throw new Error(`model summary shows ${facts.Blocks} blocks`);
  if (facts.Architecture?.trim() !== 'llama') throw new Error(`model summary shows architecture ${facts.Architecture}`);

  step('plan: a table and the block map');
  await page.click('#plan-button');
  await page.waitForFunction(() => document.querySelectorAll('#plan-table tbody tr').length >= 1 &&
                                   document.querySelectorAll('#block-map svg rect').length >= 1);
  const planned = await page.$$eval('#plan-table tbody tr', (rows) => rows.map((r) => r.cells[0].textContent));
  await shot('03-plan.png');

  step(`deploy over ${planned.join(', ')}`);
  await page.click('#deploy-button');
  await page.waitForFunction(() => /ready/.test(document.querySelector('#deploy-state').textContent), null, { timeout: 120000 });
  await page.waitForFunction(() => !document.querySelector('#gen-model').disabled);
  await page.waitForFunction(() => /stories260K/.test(document.querySelector('#servers-table tbody').textContent));
  const progress = await page.$$eval('#deploy-progress .progress-row', (rows) => rows.map((r) => r.textContent));
  await shot('04-deployed.png');

  step('generate: tokens stream in, then tokens/s and the route');
  await page.fill('#prompt', prompt);
  await page.fill('#max-tokens', String(maxTokens));
  await page.fill('#temperature', '0');
  await page.click('#generate-button');
  await page.waitForFunction(() => document.querySelectorAll('#route .chip').length >= 1, null, { timeout: 120000 });
  const generated = await page.textContent('#output .generated');
  const stats = await page.textContent('#gen-stats');
  const route = await page.$$eval('#route .chip', (chips) => chips.map((c) => c.textContent));
  await shot('05-generated.png');

  step('chat: two turns, each sending the conversation so far');
  const turn = async (text) => {
    await page.fill('#prompt', text);
    await page.click('#generate-button');
    await page.waitForFunction(() => document.querySelectorAll('#route .chip').length >= 1, null, { timeout: 120000 });
    await page.waitForFunction(() => !document.querySelector('#generate-button').disabled);
    return page.textContent('#output .generated');
  };
  await page.check('#chat-mode');
  const chat = [await turn(prompt), await turn('The little dog')];
  const transcript = await page.textContent('#output .prompt-echo');
  await shot('05b-chat.png');
  // The same turns through /v1/chat/completions, in fresh sessions, while the model is deployed.
  const apiAnswer = async (messages) => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ model: 'stories260K', messages, max_tokens: Number(maxTokens), temperature: 0 }),
    });
    return (await res.json()).choices[0].message.content;
  };
  const chatApi = [await apiAnswer([{ role: 'user', content: prompt }])];
  chatApi.push(await apiAnswer([{ role: 'user', content: prompt }, { role: 'assistant', content: chatApi[0] },
                                { role: 'user', content: 'The little dog' }]));

  step('undeploy');
  await page.click('#undeploy-button');
  await page.waitForFunction(() => /Undeployed/.test(document.querySelector('#deploy-state').textContent));
  await page.waitForFunction(() => document.querySelector('#gen-model').disabled);
  await shot('06-undeployed.png');

  if (problems.length) throw new Error(problems.join('\n'));
  console.log(JSON.stringify({ generated, stats, route, planned, progress, chat, chatApi, transcript }));
} catch (e) {
  await shot('failure.png').catch(() => {});
  console.error(`browser: FAILED: ${e.message}`);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
