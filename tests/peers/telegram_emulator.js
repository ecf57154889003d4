// The telegram-test-api Bot API emulator on a loopback port, with a small compatibility layer
// for python-telegram-bot 22 (see ../../shared/CHANNELS.md, "telegram-test-api 4.2.1 with PTB 22").
// Test code only: the bot talks to this exactly as to api.telegram.org and knows nothing of it.
//
//   node telegram_emulator.js PORT [HOST]
//
// Bridged gaps:
//   1. getMe lacks is_bot                      → added
//   2. dates in milliseconds                   → seconds, in every Bot API answer
//   3. callback_query without chat_instance    → added (the chat id)
//   4. editMessage*, answerCallbackQuery, setWebhook, deleteWebhook answer result: null → true
//   5. getUpdates ignores `timeout`            → long polling here: wait up to `timeout`
//      seconds for a user update (it still ignores `offset`, but it never delivers an update
//      twice, so the bot's offset handling cannot be seen here: the Python fake covers that)
// Added for the tests: GET /_bridge/calls lists the Bot API calls the bot made (method and
// parameters), e.g. answerCallbackQuery, which the emulator does not record.
'use strict';

const TelegramServer = require('telegram-test-api');

const port = Number(process.argv[2]);
const host = process.argv[3] || '127.0.0.1';
if (!port) {
  console.error('usage: node telegram_emulator.js PORT [HOST]');
  process.exit(2);
}

const server = new TelegramServer({ port, host, storeTimeout: 600 });
const app = server.webServer;
const calls = [];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const NULL_IS_TRUE = new Set([
  'editMessageText', 'editMessageReplyMarkup', 'answerCallbackQuery', 'setWebhook', 'deleteWebhook',
]);

function secondsDates(value) {
  if (Array.isArray(value)) return value.map(secondsDates);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = key === 'date' && typeof item === 'number' && item > 1e11 ? Math.floor(item / 1000) : secondsDates(item);
    }
    return out;
  }
  return value;
}

function fixUpdate(update) {
  const cq = update.callback_query;
  if (cq && !cq.chat_instance) {
    const chat = cq.message && cq.message.chat;
    cq.chat_instance = String(chat ? chat.id : cq.from.id);
  }
  return update;
}

function bridge(req, res, next) {
  const match = req.path.match(/^\/bot([^/]+)\/([A-Za-z]+)$/);
  if (!match) return next();
  const [, token, method] = match;
  const params = { ...(req.query || {}), ...(req.body || {}) };
  calls.push({ method, token, params });
  if (method === 'getUpdates') {
    longPoll(token, Number(params.timeout || 0))
      .then((updates) => res.json({ ok: true, result: secondsDates(updates.map(fixUpdate)) }))
      .catch(next);
    return undefined;
  }
  const json = res.json.bind(res);
  res.json = (data) => {
    let body = data;
    if (body && body.ok) {
      if (method === 'getMe') body = { ...body, result: { is_bot: true, ...body.result } };
      if (NULL_IS_TRUE.has(method) && body.result == null) body = { ...body, result: true };
      body = secondsDates(body);
    }
    return json(body);
  };
  return next();
}

async function longPoll(token, timeoutSeconds) {
  const deadline = Date.now() + Math.min(Math.max(timeoutSeconds, 0), 50) * 1000;
  let updates = server.getUpdates(token);
  while (updates.length === 0 && Date.now() < deadline) {
    await sleep(Math.min(50, deadline - Date.now()));
    updates = server.getUpdates(token);
  }
  return updates;
}

// after the emulator's body parsers, before its routes
app.use(bridge);
const stack = app._router.stack;
const layer = stack.pop();
const after = stack.findIndex((l) => l.name === 'requestLogger');
stack.splice(after + 1, 0, layer);

app.get('/_bridge/calls', (_req, res) => res.json({ ok: true, result: calls }));
// move it before the emulator's catch-all "route not found"
const callsLayer = stack.pop();
stack.splice(after + 2, 0, callsLayer);

server.start().then(() => {
  console.log(`telegram emulator listening on ${host}:${port}`);
});

const stop = () => {
  server.stop().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('unhandledRejection', (err) => console.error('unhandled rejection:', err && err.message));
