// The LLaMPS page: model -> servers -> plan -> deploy -> inference, on the admin API
// (/api/...). No framework and no build step: the binary serves this file as it is.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { model: null, plan: null, deploying: false, deployedBefore: null, generation: null, describing: 0, chat: [] };

// ---- talking to the server ----

function headers(extra = {}) {
  const key = localStorage.getItem('llamps-api-key') || '';
  return key ? { ...extra, Authorization: 'Bearer ' + key } : extra;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, body) {
  const init = body === undefined ? { headers: headers() }
    : { method: 'POST', headers: headers({ 'Content-Type': 'application/json' }), body: JSON.stringify(body) };
  const res = await fetch(path, init);
  const data = await res.json().catch(() => ({}));
  if (res.status === 401) needKey();
  if (!res.ok) throw new ApiError(res.status, (data.error && data.error.message) || res.statusText);
  return data;
}

// Reads a server-sent event stream from a POST; calls onEvent with each parsed data object.
async function postEvents(path, body, onEvent, signal) {
  const res = await fetch(path, {
    method: 'POST', signal, body: JSON.stringify(body),
    headers: headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
  });
  if (!res.ok) {
    const data = await res.json().catch(() => ({}));
    if (res.status === 401) needKey();
    throw new ApiError(res.status, (data.error && data.error.message) || res.statusText);
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (data && data !== '[DONE]') onEvent(JSON.parse(data));
    }
  }
}

function needKey() {
  $('key-box').hidden = false;
  showBanner('This server needs an API key: enter it at the top right.');
}

function showBanner(text) {
  $('banner').textContent = text;
  $('banner').hidden = !text;
}

// ---- formatting ----

function bytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let u = 0;
  while (n >= 1000 && u < units.length - 1) { n /= 1000; u++; }
  return u === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 2 : 1)} ${units[u]}`;
}

function blocks(first, last) {
  return last - first === 1 ? `${first}` : `${first}–${last - 1}`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function fillTable(table, rows) {
  const body = table.querySelector('tbody');
  body.replaceChildren(...rows.map((cells) => el('tr', {}, ...cells.map((c) =>
    c instanceof Node ? el('td', {}, c) : el('td', typeof c === 'number' ? { class: 'num' } : {}, c)))));
}

function numCell(text) { return el('span', { class: 'num-cell' }, text); }

// ---- this machine ----

async function loadNode() {
  const info = await api('/api/node');
  const n = info.node;
  $('key-box').hidden = !info.api_key_required;
  const who = n.node_id && n.node_id !== n.role ? `${n.node_id} (${n.role})` : n.role;
  $('node-line').textContent = `${who} · ${info.listen}`;
  $('contribute-toggle').checked = n.contributes;
  $('machine-role').textContent = n.contributes
    ? 'Contributes its leftover capacity to the cluster'
    : 'Runs inference only (contributes no capacity)';
  const mem = n.share_memory_bytes ? `at most ${bytes(n.share_memory_bytes)}` : 'whatever memory is free';
  const cores = n.share_cores ? `${n.share_cores} cores` : 'all free cores';
  // The demo's contributors have their own shares (see the servers below), not the machine's.
  $('machine-share').textContent = n.contributes && n.role !== 'demo' ? `Share: ${mem}, ${cores}.` : '';
  $('machine-note').textContent = n.note;
  if (n.model_path && !$('model-input').value) {
    $('model-input').value = n.model_path;
    describeModel();
  }
}

// ---- model ----

// Anything that looks like a path is a file; otherwise a catalog name (and size).
function isPath(text) { return text.includes('/') || text.endsWith('.gguf'); }

function modelSpec() {
  const text = $('model-input').value.trim();
  const params = $('params-input').value.trim();
  // Size and weight type describe catalog shapes only: a file says its own.
  $('params-input').disabled = $('dtype-input').disabled = isPath(text);
  if (!text && !params) return null;
  if (isPath(text)) return text;
  return { name: text, params, dtype: $('dtype-input').value };
}

let describeTimer = null;
function describeModelSoon() {
  clearTimeout(describeTimer);
  describeTimer = setTimeout(describeModel, 250);
}

async function describeModel() {
  const spec = modelSpec();
  const box = $('model-summary');
  if (!spec) { state.model = null; box.textContent = 'Enter a model.'; return; }
  const ticket = ++state.describing; // answers to older entries arrive late: ignore them
  try {
    const m = await api('/api/profile', { model: spec });
    if (ticket !== state.describing) return;
    state.model = m;
    box.classList.remove('muted', 'error');
    const facts = [
      ['Architecture', m.architecture],
      ['Blocks', m.n_blocks],
      ['Per block', bytes(m.block_bytes)],
      ['All blocks', bytes(m.weights_bytes)],
      ['Head (client)', bytes(m.head_bytes)],
      ['KV per session', `${bytes(m.kv_bytes_per_session)} (${m.n_ctx} tokens)`],
    ];
    if (m.params) facts.unshift(['Parameters', `${(m.params / 1e9).toFixed(2)} B`]);
    const source = m.source === 'file' ? `GGUF file ${m.path}` :
      `catalog shape${m.scaled ? ' scaled to the size (not a published shape)' : ''}, ${m.dtype}: plan only, no weights to deploy`;
    box.replaceChildren(
      el('div', { class: 'model-name' }, m.name), el('div', { class: 'model-source' }, source),
      el('div', { class: 'facts' }, ...facts.map(([k, v]) => el('div', { class: 'fact' }, el('span', {}, k), el('b', {}, v)))));
  } catch (e) {
    if (ticket !== state.describing) return;
    state.model = null;
    box.classList.add('error');
    box.textContent = e.message;
  }
}

async function loadCatalog() {
  const { models } = await api('/api/catalog');
  $('catalog-names').replaceChildren(...models.map((m) => el('option', { value: m.name }, `${m.architecture}, ${m.n_blocks} blocks`)));
}

// ---- servers ----

async function loadServers() {
  const servers = await api('/api/servers');
  const healthy = servers.filter((s) => s.healthy);
  $('servers-count').textContent = `${healthy.length} of ${servers.length} healthy`;
  const fact = (k, v) => el('div', { class: 'fact' }, el('span', {}, k), el('b', {}, v));
  $('cluster-totals').replaceChildren(
    fact('Cluster servers', healthy.length),
    fact('Leftover memory', bytes(healthy.reduce((n, s) => n + s.memory_bytes, 0))),
    fact('Cores offered', healthy.reduce((n, s) => n + s.cores, 0)));
  fillTable($('servers-table'), servers.map((s) => [
    el('b', {}, s.node_id), s.address, numCell(bytes(s.memory_bytes)), numCell(s.cores),
    el('span', { class: s.healthy ? 'badge ok' : 'badge bad' }, s.healthy ? 'healthy' : 'gone'),
    s.hosting.length ? s.hosting.map((h) => `${h.model} [${blocks(h.first, h.last)}]`).join(', ') : '—',
  ]));
}

// ---- plan ----

function planRequest() {
  return {
    model: modelSpec(),
    replicas: Number($('replicas-input').value) || 1,
    sessions: Number($('sessions-input').value) || 1,
    context: Number($('context-input').value) || 0,
  };
}

async function makePlan() {
  const req = planRequest();
  if (!req.model) return;
  $('plan-summary').textContent = 'Planning…';
  try {
    const { model, plan } = await api('/api/plan', req);
    state.plan = plan;
    $('plan-summary').classList.remove('error', 'muted');
    $('plan-summary').replaceChildren(
      el('div', {}, plan.summary),
      el('div', { class: 'facts' },
        el('div', { class: 'fact' }, el('span', {}, 'Servers'), el('b', {}, plan.entries.length)),
        el('div', { class: 'fact' }, el('span', {}, 'Sessions it holds'), el('b', {}, plan.sessions_capacity)),
        el('div', { class: 'fact' }, el('span', {}, 'Predicted bottleneck'),
          el('b', {}, plan.predicted_tokens_per_s ? `${plan.predicted_tokens_per_s.toFixed(0)} tokens/s` : 'unknown'))));
    $('plan-table').hidden = false;
    fillTable($('plan-table'), plan.entries.map((e) => [
      el('b', {}, e.node_id), blocks(e.first, e.last), numCell(bytes(e.weight_bytes)),
      numCell(bytes(e.kv_budget_bytes)), numCell(e.sessions_capacity)]));
    drawBlockMap($('block-map'), plan.entries, model.n_blocks);
  } catch (e) {
    state.plan = null;
    $('plan-table').hidden = true;
    $('block-map').replaceChildren();
    $('plan-summary').classList.add('error');
    $('plan-summary').textContent = e.message;
  }
}

// Servers as rows, each one's block range as a bar over the model's blocks.
function drawBlockMap(box, entries, nBlocks) {
  const ns = 'http://www.w3.org/2000/svg';
  const svgEl = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  };
  const rows = entries.length, rowH = 30, left = 110, right = 16, top = 8, width = 760;
  const plotW = width - left - right, height = top + rows * rowH + 28;
  const x = (b) => left + (b / nBlocks) * plotW;
  const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, class: 'map', role: 'img',
    'aria-label': 'block map: servers as rows, block ranges as bars' });
  const ticks = Math.min(nBlocks, 16);
  for (let i = 0; i <= ticks; i++) {
    const b = Math.round((i / ticks) * nBlocks);
    svg.append(svgEl('line', { x1: x(b), x2: x(b), y1: top, y2: top + rows * rowH, class: 'tick' }));
    svg.append(svgEl('text', { x: x(b), y: top + rows * rowH + 16, class: 'axis' }, b));
  }
  entries.forEach((e, i) => {
    const y = top + i * rowH;
    svg.append(svgEl('text', { x: left - 10, y: y + rowH / 2 + 4, class: 'row-label' }, e.node_id));
    svg.append(svgEl('rect', { x: x(e.first), y: y + 5, width: Math.max(2, x(e.last) - x(e.first)), height: rowH - 10,
      rx: 4, class: `bar c${i % 6}` }));
    svg.append(svgEl('text', { x: (x(e.first) + x(e.last)) / 2, y: y + rowH / 2 + 4, class: 'bar-label' },
      `${e.last - e.first === 1 ? 'block' : 'blocks'} ${blocks(e.first, e.last)}`));
  });
  svg.append(svgEl('text', { x: left + plotW, y: height - 2, class: 'axis end' }, 'block'));
  box.replaceChildren(svg);
}

// ---- deploy ----

async function deploy() {
  const req = planRequest();
  if (!req.model) return;
  try {
    // The deployer keeps the last record of each model: wait for a new one, not that.
    const { deployments } = await api('/api/deploy/progress');
    state.deployedBefore = Object.fromEntries(deployments.map((d) => [d.model, d.deployment_id]));
    const r = await api('/api/deploy', req);
    state.deploying = r.model;
    $('deploy-state').classList.remove('error');
    $('deploy-state').textContent = `Deploying ${r.model}…`;
    pollDeploy();
  } catch (e) {
    $('deploy-state').classList.add('error');
    $('deploy-state').textContent = e.message;
  }
}

async function undeploy() {
  const names = [...$('gen-model').options].map((o) => o.value);
  const spec = modelSpec();
  const wanted = typeof spec === 'string' ? spec.split('/').pop().replace(/\.gguf$/, '') : spec && spec.name;
  const model = names.includes(wanted) ? wanted : names[0];
  if (!model) return;
  try {
    await api('/api/undeploy', { model });
    $('deploy-state').classList.remove('error');
    $('deploy-state').textContent = `Undeployed ${model}.`;
    $('deploy-progress').replaceChildren();
  } catch (e) {
    $('deploy-state').classList.add('error');
    $('deploy-state').textContent = e.message;
  }
  refresh();
}

function progressRow(p) {
  const frac = p.bytes_total ? p.bytes_done / p.bytes_total : 0;
  const bar = el('div', { class: 'bar-track' }, el('div', { class: 'bar-fill' + (p.state === 'ready' ? ' done' : '') }));
  bar.firstChild.style.width = `${(frac * 100).toFixed(1)}%`;
  return el('div', { class: 'progress-row' }, el('b', {}, p.node_id), bar,
    el('span', { class: 'num-cell' }, `${bytes(p.bytes_done)} / ${bytes(p.bytes_total)}`),
    el('span', { class: 'state ' + stateClass(p.state) }, p.state));
}

function stateClass(s) {
  return s === 'ready' ? 'ok' : s.startsWith('failed') || s === 'rolled back' ? 'bad' : 'busy';
}

async function pollDeploy() {
  const { deployments } = await api('/api/deploy/progress');
  const d = deployments.find((x) => x.model === state.deploying);
  const old = d && d.deployment_id && d.deployment_id === state.deployedBefore[d.model];
  if (!d || old) { setTimeout(pollDeploy, 300); return; }
  $('deploy-state').replaceChildren(el('span', {}, `${d.model} `),
    el('span', { class: 'state ' + stateClass(d.state) }, d.state), el('span', { class: 'muted' }, ` ${d.deployment_id}`));
  $('deploy-progress').replaceChildren(...d.servers.map(progressRow));
  if (d.state === 'deploying') setTimeout(pollDeploy, 300);
  else { state.deploying = false; refresh(); }
}

async function loadDeployments() {
  const list = await api('/api/deployments');
  const select = $('gen-model');
  const chosen = select.value;
  select.replaceChildren(...list.map((d) => el('option', { value: d.model }, d.model)));
  select.disabled = !list.length;
  if (!list.length) select.append(el('option', { value: '' }, 'none deployed'));
  if (list.some((d) => d.model === chosen)) select.value = chosen;
  $('deployments').replaceChildren(...(list.length ? list.map((d) => el('div', { class: 'deployment' },
    el('b', {}, d.model), ` ${d.n_blocks} blocks, ${d.replicas} replica${d.replicas > 1 ? 's' : ''}: `,
    d.hosts.map((h) => `${h.node_id} [${blocks(h.first, h.last)}]`).join(' · '),
    el('span', { class: 'muted' }, ` · ${d.sessions} session${d.sessions === 1 ? '' : 's'}, ${d.queued} waiting in line`)))
    : ['none']));
  $('generate-button').disabled = !list.length || !!state.generation;
}

// ---- inference ----

async function generate() {
  const model = $('gen-model').value;
  if (!model) return;
  const prompt = $('prompt').value;
  const chat = $('chat-mode').checked;
  // In chat mode the server gets the whole conversation (as /v1/chat/completions does) and
  // renders it with the model's chat template; the transcript stands before the answer.
  const messages = chat ? [...state.chat, { role: 'user', content: prompt }] : null;
  const out = $('output');
  out.querySelector('.prompt-echo').textContent = chat
    ? messages.map((m) => `${m.role === 'user' ? 'you' : 'model'}: ${m.content}`).join('\n') + '\nmodel: '
    : prompt;
  const generated = out.querySelector('.generated');
  generated.textContent = '';
  $('route').replaceChildren();
  $('gen-stats').textContent = 'generating…';
  const controller = new AbortController();
  state.generation = controller;
  $('generate-button').disabled = true;
  $('stop-button').disabled = false;
  out.classList.add('running');
  const started = performance.now();
  let tokens = 0;
  try {
    await postEvents('/api/generate', {
      model, ...(chat ? { messages } : { prompt }),
      max_tokens: Number($('max-tokens').value) || 64,
      temperature: Number($('temperature').value),
      top_p: Number($('top-p').value),
      seed: Number($('seed').value),
    }, (ev) => {
      if (ev.error) throw new ApiError(500, ev.error.message);
      if (ev.text !== undefined && !ev.done) {
        generated.textContent += ev.text;
        tokens++;
        const s = (performance.now() - started) / 1000;
        $('gen-stats').textContent = `${tokens} pieces · ${(tokens / s).toFixed(1)} tokens/s so far`;
      }
      if (ev.done) {
        showFigures(ev);
        if (chat) {
          state.chat = [...messages, { role: 'assistant', content: ev.text }];
          $('prompt').value = '';
        }
      }
    }, controller.signal);
  } catch (e) {
    $('gen-stats').textContent = e.name === 'AbortError' ? 'stopped' : `error: ${e.message}`;
  } finally {
    state.generation = null;
    out.classList.remove('running');
    $('stop-button').disabled = true;
    refresh();
  }
}

function showFigures(ev) {
  const decode = ev.completion_tokens > 1 && ev.decode_seconds > 0 ? (ev.completion_tokens - 1) / ev.decode_seconds : 0;
  const prefill = ev.prefill_seconds > 0 ? ev.prompt_tokens / ev.prefill_seconds : 0;
  $('gen-stats').textContent = `${ev.completion_tokens} tokens (${ev.finish_reason}) · ` +
    `decode ${decode.toFixed(1)} tokens/s · prefill ${prefill.toFixed(0)} tokens/s`;
  $('route').replaceChildren(el('span', { class: 'muted' }, 'route '),
    ...ev.route.flatMap((n, i) => [i ? el('span', { class: 'arrow' }, '→') : '', el('span', { class: 'chip' }, n)]));
}

// ---- wiring ----

async function refresh() {
  try {
    await Promise.all([loadServers(), loadDeployments()]);
    if ($('banner').textContent.startsWith('Cannot reach')) showBanner('');
  } catch (e) {
    if (e.status !== 401) showBanner(`Cannot reach the server: ${e.message}`);
  }
}

async function load() {
  try {
    await Promise.all([loadNode(), loadCatalog()]);
  } catch (e) {
    if (e.status !== 401) showBanner(`Cannot reach the server: ${e.message}`);
  }
  refresh();
}

function start() {
  const key = $('api-key');
  key.value = localStorage.getItem('llamps-api-key') || '';
  key.addEventListener('change', () => {
    localStorage.setItem('llamps-api-key', key.value.trim());
    showBanner('');
    load();
  });
  for (const id of ['model-input', 'params-input', 'dtype-input']) $(id).addEventListener('input', describeModelSoon);
  $('plan-button').onclick = makePlan;
  $('deploy-button').onclick = deploy;
  $('undeploy-button').onclick = undeploy;
  $('generate-button').onclick = generate;
  $('stop-button').onclick = () => state.generation && state.generation.abort();
  const newChat = () => {
    state.chat = [];
    $('output').querySelector('.prompt-echo').textContent = '';
    $('output').querySelector('.generated').textContent = '';
  };
  $('chat-mode').onchange = () => {
    $('new-chat-button').hidden = !$('chat-mode').checked;
    newChat();
  };
  $('new-chat-button').onclick = newChat;
  load();
  setInterval(refresh, 2000);
}

start();
