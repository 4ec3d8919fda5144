// The chat page: one WebSocket to /ws, JSON for text, raw bytes for binary. No framework, no build step.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { socket: null, room: null, binaryCount: 0, binaryBytes: 0, retry: 500, attempt: 0, lastClose: '' };
window.chat = state; // handy in the console (and for the browser test)

function log(text, className, nick) {
  const item = document.createElement('li');
  if (className) item.className = className;
  if (nick) {
    const who = document.createElement('span');
    who.className = 'nick';
    who.textContent = `${nick}: `;
    item.append(who);
  }
  item.append(text);
  $('log').append(item);
  $('log').scrollTop = $('log').scrollHeight;
}

function send(message) {
  if (state.socket?.readyState === WebSocket.OPEN) state.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
}

const handlers = {
  welcome(m) {
    $('nick').value = m.nick;
    // What the server negotiated for this connection (the browser's own view is socket.extensions).
    $('extensions').textContent = m.extensions.split(';')[0] || 'off';
    $('extensions').title = `server: ${m.extensions || 'none'}\nbrowser: ${state.socket.extensions || 'none'}`;
    if (state.room) send({ type: 'join', room: state.room }); // back after a reconnect
  },
  nick: (m) => log(`you are now ${m.nick}`, 'note'),
  joined(m) {
    state.room = m.room;
    $('current').textContent = m.room;
    log(`joined ${m.room} (${m.members} here)`, 'note');
  },
  left(m) {
    state.room = null;
    $('current').textContent = 'no room';
    log(`left ${m.room}`, 'note');
  },
  presence: (m) => log(`${m.nick} ${m.event === 'join' ? 'joined' : 'left'} ${m.room}`, 'note'),
  chat: (m) => log(m.text, '', m.nick),
  binary: (m) => log(`sent ${m.bytes} bytes of binary`, 'note', m.nick),
  stats(m) {
    $('connections').textContent = m.connections;
    $('rate').textContent = m.messagesPerSecond;
  },
  error: (m) => log(m.message, 'error'),
};

function connect() {
  const nick = $('nick').value ? `?nick=${encodeURIComponent($('nick').value)}` : '';
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${nick}`);
  socket.binaryType = 'arraybuffer';
  state.socket = socket;
  let opened = false;
  socket.onopen = () => {
    opened = true;
    state.retry = 500;
    state.attempt = 0;
    $('status').textContent = 'connected';
    $('status').title = '';
    $('status').className = 'status connected';
  };
  socket.onmessage = (event) => {
    if (typeof event.data !== 'string') {
      state.binaryCount += 1;
      state.binaryBytes += event.data.byteLength;
      $('binary-count').textContent = state.binaryCount;
      $('binary-bytes').textContent = state.binaryBytes;
      return;
    }
    const message = JSON.parse(event.data);
    handlers[message.type]?.(message);
  };
  socket.onclose = (event) => {
    // Why the connection ended is the server's close code; a retry that fails only adds a 1006 that says nothing new.
    if (opened || !state.lastClose) state.lastClose = `${event.code}${event.reason ? ` ${event.reason}` : ''}`;
    state.attempt += 1;
    $('status').textContent = `disconnected (${state.lastClose.split(' ')[0]}), retrying${state.attempt > 1 ? ` (attempt ${state.attempt})` : ''}…`;
    $('status').title = `closed: ${state.lastClose}`;
    $('status').className = 'status';
    setTimeout(connect, state.retry);
    state.retry = Math.min(state.retry * 2, 10_000);
  };
}

$('nick-form').onsubmit = (event) => {
  event.preventDefault();
  send({ type: 'nick', nick: $('nick').value });
};
$('room-form').onsubmit = (event) => {
  event.preventDefault();
  send({ type: 'join', room: $('room').value.trim() });
};
$('leave').onclick = () => send({ type: 'leave' });
$('chat-form').onsubmit = (event) => {
  event.preventDefault();
  if (!$('text').value.trim()) return;
  send({ type: 'chat', text: $('text').value });
  $('text').value = '';
};
$('blob').onclick = () => {
  const blob = new Uint8Array(1024);
  crypto.getRandomValues(blob);
  if (state.socket?.readyState === WebSocket.OPEN) state.socket.send(blob);
};

connect();
