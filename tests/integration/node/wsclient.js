// tests/integration/node/wsclient.js - the node `ws` client that
// tests/integration/test_ws_transport.py drives: a second, independent
// WebSocket implementation against ucsd's transport.
//
//   node wsclient.js URL [--ca FILE | --insecure] STEPS_JSON
//
// STEPS_JSON is an array of steps run in order; every result is printed as
// one JSON line on stdout:
//   {"op":"call","method":M,"params":P}      -> {"op":"reply","reply":{...}}
//   {"op":"notify","method":M,"params":P}    (no output)
//   {"op":"fragments","parts":[S...],"id":X} -> one text message in
//       len(parts) frames; {"op":"reply","reply":{...}} for id X
//   {"op":"ping","data":S}                   -> {"op":"pong","data":S}
//   {"op":"close","code":N,"reason":S}       -> {"op":"closed","code":..,"reason":..}
//   {"op":"wait_close"}                      -> {"op":"closed",...} (the server's)
// First {"op":"open","tls":bool}; on any failure {"op":"error","message":..}
// and exit status 1.
'use strict';
const fs = require('fs');
const WebSocket = require('ws');

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function fail(msg) {
  out({op: 'error', message: String(msg)});
  process.exit(1);
}

const args = process.argv.slice(2);
const url = args.shift();
const opts = {handshakeTimeout: 5000};
let steps = null;
while (args.length) {
  const a = args.shift();
  if (a === '--ca') {
    opts.ca = fs.readFileSync(args.shift());
  } else if (a === '--insecure') {
    opts.rejectUnauthorized = false;
  } else {
    steps = JSON.parse(a);
  }
}
if (!url || !steps) fail('usage: wsclient.js URL [--ca FILE | --insecure] STEPS_JSON');

const ws = new WebSocket(url, opts);
const replies = new Map();   // id -> response object
const waiters = new Map();   // id -> resolve
let closeInfo = null;
let closeWaiter = null;
let nextId = 1;

ws.on('message', (data, isBinary) => {
  if (isBinary) return fail('binary message from the server');
  const msg = JSON.parse(data.toString('utf8'));
  if (Array.isArray(msg) || msg.method) return;
  const key = JSON.stringify(msg.id);
  if (waiters.has(key)) {
    waiters.get(key)(msg);
    waiters.delete(key);
  } else {
    replies.set(key, msg);
  }
});
ws.on('close', (code, reason) => {
  closeInfo = {op: 'closed', code, reason: reason.toString('utf8')};
  if (closeWaiter) closeWaiter();
});
ws.on('error', (err) => fail(err.message));

function reply(id) {
  const key = JSON.stringify(id);
  if (replies.has(key)) {
    const r = replies.get(key);
    replies.delete(key);
    return Promise.resolve(r);
  }
  return new Promise((resolve, reject) => {
    waiters.set(key, resolve);
    setTimeout(() => reject(new Error('no reply for id ' + key)), 5000);
  });
}

function closed() {
  if (closeInfo) return Promise.resolve(closeInfo);
  return new Promise((resolve, reject) => {
    closeWaiter = () => resolve(closeInfo);
    setTimeout(() => reject(new Error('the connection did not close')), 5000);
  });
}

function send(data, options) {
  return new Promise((resolve, reject) => ws.send(data, options, (err) => err ? reject(err) : resolve()));
}

async function run() {
  out({op: 'open', tls: url.startsWith('wss:')});
  for (const step of steps) {
    if (step.op === 'call' || step.op === 'notify') {
      const msg = {jsonrpc: '2.0', method: step.method};
      if (step.params !== undefined) msg.params = step.params;
      if (step.op === 'call') msg.id = nextId++;
      await send(JSON.stringify(msg));
      if (step.op === 'call') out({op: 'reply', reply: await reply(msg.id)});
    } else if (step.op === 'fragments') {
      for (let i = 0; i < step.parts.length; i++)
        await send(step.parts[i], {fin: i === step.parts.length - 1, binary: false});
      out({op: 'reply', reply: await reply(step.id)});
    } else if (step.op === 'ping') {
      const got = new Promise((resolve, reject) => {
        ws.once('pong', (data) => resolve(data.toString('utf8')));
        setTimeout(() => reject(new Error('no pong')), 5000);
      });
      ws.ping(step.data);
      out({op: 'pong', data: await got});
    } else if (step.op === 'close') {
      ws.close(step.code, step.reason);
      out(await closed());
    } else if (step.op === 'wait_close') {
      out(await closed());
    } else {
      fail('unknown step ' + step.op);
    }
  }
  process.exit(0);
}

ws.on('open', () => run().catch((err) => fail(err.message)));
