/**
 * The fuzzer's WebSocket engine: one instance per test-case connection.
 *
 * It reproduces the behaviour of the protocol engine inside Autobahn|Testsuite
 * (autobahn.websocket.protocol with failByDrop = False) closely, because the
 * verdicts depend on it: which side sent the first close frame (closedByMe),
 * whether the closing handshake completed and the server dropped TCP
 * (wasClean), who dropped TCP (droppedByMe), the close code the peer sent
 * (remoteCloseCode), and the same timeouts (close handshake 1 s, server TCP
 * drop 1 s). Incoming frames are checked as strictly as Autobahn checks them,
 * so a testee that sends bad frames fails here too.
 *
 * Subclasses (fuzzing-client.mjs, fuzzing-server.mjs) do the opening handshake.
 */
import { ByteQueue, CLOSE, CLOSE_CODES_ALLOWED, applyMask, closePayload, encodeFrame, encodeHeader, randomMask } from './codec.mjs';
import { Utf8Validator } from './utf8.mjs';

export const STATE = Object.freeze({ CONNECTING: 'CONNECTING', OPEN: 'OPEN', CLOSING: 'CLOSING', CLOSED: 'CLOSED' });

/** Autobahn's defaults (autobahn.websocket.protocol), in milliseconds. */
export const TIMEOUTS = Object.freeze({ openHandshake: 5000, closeHandshake: 1000, serverConnectionDrop: 1000 });

const EMPTY = Buffer.alloc(0);
const SEND_STATE = Object.freeze({ GROUND: 0, MESSAGE_BEGIN: 1, INSIDE_MESSAGE: 2, INSIDE_MESSAGE_FRAME: 3 });

/** Autobahn's wire-log renderings of payloads (first 64 bytes). */
export function binLogData(data, maxlen = 64) {
  return data.length > maxlen - 4 ? data.subarray(0, maxlen).toString('hex') + ' ...' : data.toString('hex');
}

export function asciiLogData(data, maxlen = 64) {
  const cut = data.length > maxlen - 4;
  const part = cut ? data.subarray(0, maxlen) : data;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(part) + (cut ? ' ...' : '');
  } catch {
    return '0x' + binLogData(data, maxlen);
  }
}

export class FuzzingProtocol {
  /**
   * @param {object} o
   * @param {boolean} o.isServer true when the fuzzer is the server (testing a client)
   * @param {import('node:net').Socket} o.socket
   */
  constructor({ isServer, socket }) {
    this.isServer = isServer;
    this.socket = socket;
    this.state = STATE.CONNECTING;

    // Close bookkeeping, with Autobahn's meanings.
    this.connectionWasOpen = false;
    this.closedByMe = false; // I sent the first close frame
    this.failedByMe = false; // I failed the connection (protocol error or kill timer)
    this.droppedByMe = false; // I closed the TCP connection
    this.wasClean = false; // close frames both ways and the server dropped TCP
    this.wasNotCleanReason = null;
    this.wasServerConnectionDropTimeout = false;
    this.wasOpenHandshakeTimeout = false;
    this.wasCloseHandshakeTimeout = false;
    this.localCloseCode = null;
    this.localCloseReason = null;
    this.remoteCloseCode = null;
    this.remoteCloseReason = null;

    // Wire log and statistics, in Autobahn's shapes.
    this.createWirelog = true;
    this.wirelog = [];
    this.wirelogLimit = 4000;
    this.createStats = true;
    this.rxOctetStats = {};
    this.txOctetStats = {};
    this.rxFrameStats = {};
    this.txFrameStats = {};

    this.httpRequest = '';
    this.httpResponse = '';

    // Incoming frame state.
    this.rx = new ByteQueue();
    this.frame = null;
    this.insideMessage = false;
    this.utf8 = new Utf8Validator();
    this.utf8Current = false;
    this.messageData = null;
    this.messageBinary = false;
    this.frameData = null;
    this.controlData = null;

    // Outgoing state.
    this.sendQueue = [];
    this.triggered = false;
    this.sendState = SEND_STATE.GROUND;
    this.autoFragmentSize = 0;
    /** The negotiated permessage-deflate codec (deflate.mjs), or null. */
    this.perMessageDeflate = null;
    this.messageCompressed = false;

    this.timers = new Set();
    this.closeHandshakeTimer = null;
    this.serverDropTimer = null;
    this.lost = false;

    /** The running case (case-base.mjs), or null for service connections (getCaseCount, ...). */
    this.runCase = null;

    socket.setNoDelay(true);
    socket.on('data', (data) => this.dataReceived(data));
    socket.on('error', () => {}); // 'close' follows; the verdict reads the flags, not the error
    socket.on('close', () => this.connectionLost());
    this.later(TIMEOUTS.openHandshake, () => {
      if (this.state !== STATE.CONNECTING) return;
      this.wasClean = false;
      this.wasNotCleanReason = 'peer did not finish (in time) the opening handshake';
      this.wasOpenHandshakeTimeout = true;
      this.dropConnection(true);
    });
  }

  // ---------------------------------------------------------------- timers

  later(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  cancel(t) {
    if (t) {
      clearTimeout(t);
      this.timers.delete(t);
    }
  }

  /** After `delay` seconds, fail the connection unless it is already gone. */
  killAfter(delay) {
    this.log(['KL', delay]);
    this.later(delay * 1000, () => {
      if (this.state === STATE.CLOSED) return;
      this.log(['KLE']);
      this.failConnection();
    });
  }

  /** After `delay` seconds, start the closing handshake unless already closing. */
  closeAfter(delay) {
    this.log(['TI', delay]);
    this.later(delay * 1000, () => {
      if (this.state === STATE.CLOSED) return;
      this.log(['TIE']);
      this.sendClose();
    });
  }

  continueLater(delay, fn, tag = null) {
    this.log(['CT', delay, tag]);
    this.later(delay * 1000, () => {
      if (this.state === STATE.CLOSED) return;
      this.log(['CTE', tag]);
      fn();
    });
  }

  // ------------------------------------------------------------ wire log

  log(entry) {
    if (this.wirelog.length < this.wirelogLimit) this.wirelog.push(entry);
    else if (this.wirelog.length === this.wirelogLimit) this.wirelog.push(['TRUNC', this.wirelogLimit]);
  }

  enableWirelog(enable) {
    if (enable !== this.createWirelog) {
      this.createWirelog = enable;
      this.log(['WLM', enable]);
    }
  }

  logRxOctets(data) {
    if (this.createStats) this.rxOctetStats[data.length] = (this.rxOctetStats[data.length] ?? 0) + 1;
    if (this.createWirelog) this.log(['RO', [data.length, binLogData(data)]]);
  }

  logTxOctets(data, sync) {
    if (this.createStats) this.txOctetStats[data.length] = (this.txOctetStats[data.length] ?? 0) + 1;
    if (this.createWirelog) this.log(['TO', [data.length, binLogData(data)], sync]);
  }

  // ------------------------------------------------------------- receiving

  dataReceived(data) {
    this.logRxOctets(data);
    if (this.state === STATE.OPEN || this.state === STATE.CLOSING) {
      this.rx.push(data);
      while (this.state !== STATE.CLOSED && this.processData());
    } else if (this.state === STATE.CONNECTING) {
      this.processHandshake(data);
    }
    // CLOSED: ignore whatever still arrives
  }

  /** Subclasses: consume handshake bytes, then call this.opened(rest). */
  processHandshake(_data) {
    throw new Error('processHandshake must be implemented by a subclass');
  }

  /** The opening handshake succeeded; `rest` is whatever followed it on the wire. */
  opened(rest) {
    this.state = STATE.OPEN;
    this.connectionWasOpen = true;
    this.onOpen();
    if (rest.length > 0 && this.state !== STATE.CLOSED) {
      this.rx.push(rest);
      while (this.state !== STATE.CLOSED && this.processData());
    }
  }

  onOpen() {}

  /** One step of the frame parser; true when it should run again (mirrors processDataHybi). */
  processData() {
    if (this.frame === null) {
      if (this.rx.length < 2) return false;
      const h = this.rx.peek(2);
      const fin = (h[0] & 0x80) !== 0;
      const rsv = (h[0] & 0x70) >> 4;
      const opcode = h[0] & 0x0f;
      const masked = (h[1] & 0x80) !== 0;
      const len1 = h[1] & 0x7f;
      const headerLen = 2 + (len1 < 126 ? 0 : len1 === 126 ? 2 : 8) + (masked ? 4 : 0);
      if (this.rx.length < headerLen) return false;

      // The same checks, in the same order, as Autobahn; each failure fails the
      // connection but parsing continues so the peer's close can still arrive.
      if (rsv !== 0 && !(this.perMessageDeflate && rsv === 4)) this.protocolViolation(`RSV = ${rsv} and no extension negotiated`);
      if (this.isServer && !masked) this.protocolViolation('unmasked client-to-server frame');
      if (!this.isServer && masked) this.protocolViolation('masked server-to-client frame');
      if (opcode > 7) {
        if (!fin) this.protocolViolation('fragmented control frame');
        if (len1 > 125) this.protocolViolation('control frame with payload length > 125 octets');
        if (opcode !== 8 && opcode !== 9 && opcode !== 10) this.protocolViolation(`control frame using reserved opcode ${opcode}`);
        if (opcode === 8 && len1 === 1) this.protocolViolation('received close control frame with payload len 1');
        if (this.perMessageDeflate && rsv === 4) this.protocolViolation('received compressed control frame [permessage-deflate]');
      } else {
        if (opcode > 2) this.protocolViolation(`data frame using reserved opcode ${opcode}`);
        if (!this.insideMessage && opcode === 0) this.protocolViolation('received continuation data frame outside fragmented message');
        if (this.insideMessage && opcode !== 0) this.protocolViolation('received non-continuation data frame while inside fragmented message');
        if (this.perMessageDeflate && rsv === 4 && this.insideMessage)
          this.protocolViolation('received continuation data frame with compress bit set [permessage-deflate]');
      }
      if (this.state === STATE.CLOSED) return false;

      const header = Buffer.concat(this.rx.take(headerLen));
      let length = len1;
      let i = 2;
      if (len1 === 126) {
        length = header.readUInt16BE(2);
        if (length < 126) this.protocolViolation('invalid data frame length (not using minimal length encoding)');
        i = 4;
      } else if (len1 === 127) {
        const big = header.readBigUInt64BE(2);
        if (big > 0x7fffffffffffffffn) this.protocolViolation('invalid data frame length (>2^63)');
        if (big < 65536n) this.protocolViolation('invalid data frame length (not using minimal length encoding)');
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
          // Nothing legitimate is this large; treat it as the violation it is and stop.
          this.dropConnection(true);
          return false;
        }
        length = Number(big);
        i = 10;
      }
      if (this.state === STATE.CLOSED) return false;
      const mask = masked ? Buffer.from(header.subarray(i, i + 4)) : null;
      this.frame = { opcode, fin, rsv, length, mask, pointer: 0 };
      this.onFrameBegin();
      return length === 0 || this.rx.length > 0;
    }

    const f = this.frame;
    const take = Math.min(f.length - f.pointer, this.rx.length);
    const parts = this.rx.take(take);
    if (parts.length === 0) {
      this.onFrameData(EMPTY); // empty payloads still fire the hooks
    } else {
      for (const part of parts) {
        // Copy before unmasking: the chunk may be shared with the next frame's bytes.
        const payload = f.mask ? applyMask(Buffer.from(part), f.mask, f.pointer) : part;
        f.pointer += part.length;
        this.onFrameData(payload);
        if (this.state === STATE.CLOSED) return false;
      }
    }
    if (f.pointer === f.length) this.onFrameEnd();
    return this.rx.length > 0;
  }

  onFrameBegin() {
    const f = this.frame;
    if (f.opcode > 7) {
      this.controlData = [];
      return;
    }
    if (!this.insideMessage) {
      this.insideMessage = true;
      // A compressed message is validated as UTF-8 once inflated, at its end.
      this.messageCompressed = this.perMessageDeflate !== null && f.rsv === 4;
      this.utf8Current = f.opcode === 1 && !this.messageCompressed;
      if (this.utf8Current) this.utf8.reset();
      this.messageBinary = f.opcode === 2;
      this.messageData = [];
    }
    this.frameData = [];
  }

  onFrameData(payload) {
    const f = this.frame;
    if (f.opcode > 7) {
      this.controlData.push(payload);
      return;
    }
    if (this.utf8Current && !this.utf8.validate(payload)) {
      this.invalidPayload(`encountered invalid UTF-8 while processing text message at payload octet index ${this.utf8.failedAt}`);
    }
    if (!this.failedByMe) this.frameData.push(payload);
  }

  onFrameEnd() {
    const f = this.frame;
    this.rxFrameStats[f.opcode] = (this.rxFrameStats[f.opcode] ?? 0) + 1;
    if (f.opcode > 7) {
      const payload = Buffer.concat(this.controlData);
      this.controlData = null;
      this.logRxFrame(f, payload);
      this.frame = null;
      this.processControlFrame(f.opcode, payload);
      return;
    }
    if (this.createWirelog) this.logRxFrame(f, Buffer.concat(this.frameData ?? []));
    if (!this.failedByMe) this.messageData.push(...this.frameData);
    this.frameData = null;
    this.frame = null;
    if (f.fin) {
      // Autobahn re-checks here even after a mid-message failure; a second failure then drops TCP.
      if (this.utf8Current && !this.utf8.complete) {
        this.invalidPayload(`UTF-8 text message payload ended within Unicode code point at payload octet index ${this.utf8.consumed}`);
      }
      this.insideMessage = false;
      if (!this.failedByMe) {
        let payload = Buffer.concat(this.messageData);
        this.messageData = null;
        if (this.messageCompressed) {
          try {
            payload = this.perMessageDeflate.decompress(payload);
          } catch (error) {
            this.protocolViolation(`invalid compressed message: ${error.message}`);
            return;
          }
          if (!this.messageBinary) {
            const v = new Utf8Validator();
            if (!(v.validate(payload) && v.complete)) {
              this.invalidPayload('invalid UTF-8 in compressed text message');
              return;
            }
          }
        }
        this.onMessage(payload, this.messageBinary);
      }
    }
  }

  logRxFrame(f, payload) {
    if (!this.createWirelog) return;
    this.log(['RF', [payload.length, asciiLogData(payload)], f.opcode, f.fin, f.rsv, f.mask !== null, f.mask ? f.mask.toString('hex') : null]);
  }

  processControlFrame(opcode, payload) {
    if (opcode === 8) {
      let code = null;
      let reason = null;
      if (payload.length > 1) {
        code = payload.readUInt16BE(0);
        if (payload.length > 2) reason = payload.subarray(2);
      }
      this.onCloseFrame(code, reason);
    } else if (opcode === 9) {
      // Autobahn answers pings itself and does not report them to the case.
      if (this.state === STATE.OPEN) this.sendPong(payload);
    } else if (opcode === 10) {
      this.onPong(payload);
    }
  }

  onMessage(payload, isBinary) {
    this.runCase?.onMessage(payload, isBinary);
  }

  onPong(payload) {
    this.runCase?.onPong(payload);
  }

  onCloseFrame(code, reason) {
    this.remoteCloseCode = code;
    if (code !== null && (code < 1000 || (code <= 2999 && !CLOSE_CODES_ALLOWED.includes(code)) || code >= 5000)) {
      this.protocolViolation(`invalid close code ${code}`);
    }
    if (reason !== null) {
      const v = new Utf8Validator();
      if (!v.validate(reason)) this.invalidPayload('invalid close reason (non-UTF-8 payload)');
      this.remoteCloseReason = reason.toString('utf8');
    }
    if (this.state === STATE.CLOSING) {
      // The peer's answer to our close.
      this.cancel(this.closeHandshakeTimer);
      this.closeHandshakeTimer = null;
      this.wasClean = true;
      if (this.isServer) {
        this.dropConnection(true);
      } else {
        // A client waits for the server to drop TCP; if it does not, we do, and it was not clean.
        this.serverDropTimer = this.later(TIMEOUTS.serverConnectionDrop, () => {
          if (this.state === STATE.CLOSED) return;
          this.wasClean = false;
          this.wasNotCleanReason = 'server did not drop TCP connection (in time)';
          this.wasServerConnectionDropTimeout = true;
          this.dropConnection(true);
        });
      }
    } else if (this.state === STATE.OPEN) {
      // The peer starts the closing handshake: answer with 1000.
      this.wasClean = true;
      this.sendCloseFrame(CLOSE.NORMAL, null, true);
      if (this.isServer) this.dropConnection(false);
    }
  }

  // --------------------------------------------------------------- sending

  /** Writes now, or queues behind chopped/synced writes so ordering holds. */
  sendData(data, sync = false, chopsize = null) {
    if (chopsize && chopsize > 0) {
      for (let i = 0; i < data.length; i += chopsize) this.sendQueue.push([data.subarray(i, i + chopsize), true]);
      if (data.length === 0) this.sendQueue.push([data, true]);
      this.trigger();
    } else if (sync || this.sendQueue.length > 0) {
      this.sendQueue.push([data, sync]);
      this.trigger();
    } else {
      this.write(data, false);
    }
  }

  write(data, sync) {
    if (this.state === STATE.CLOSED || this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.write(data);
    this.logTxOctets(data, sync);
  }

  trigger() {
    if (this.triggered) return;
    this.triggered = true;
    this.sendNext();
  }

  /**
   * One queued chunk per event-loop turn, so each leaves in its own write()
   * (Autobahn re-enters the reactor between chops for the same reason).
   */
  sendNext() {
    const e = this.sendQueue.shift();
    if (!e) {
      this.triggered = false;
      return;
    }
    this.write(e[0], e[1]);
    setImmediate(() => this.sendNext());
  }

  /**
   * Sends one frame, valid or not. payloadLen repeats `payload` to that
   * length; chopsize writes the octets in pieces of that size; sync writes
   * the frame in its own write.
   */
  sendFrame({ opcode, payload = EMPTY, fin = true, rsv = 0, mask = null, payloadLen = null, chopsize = null, sync = false }) {
    const key = mask ?? (this.isServer ? null : randomMask());
    const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    const { raw, length } = encodeFrame({ opcode, payload: body, fin, rsv, mask: key, payloadLen });
    this.txFrameStats[opcode] = (this.txFrameStats[opcode] ?? 0) + 1;
    if (this.createWirelog) {
      this.log(['TF', [length, asciiLogData(body)], opcode, fin, rsv, key ? key.toString('hex') : null, payloadLen, chopsize, sync]);
    }
    this.sendData(raw, sync, chopsize);
  }

  sendPing(payload = EMPTY) {
    if (this.state === STATE.OPEN) this.sendFrame({ opcode: 9, payload });
  }

  sendPong(payload = EMPTY) {
    if (this.state === STATE.OPEN) this.sendFrame({ opcode: 10, payload });
  }

  /** Sends a close frame with any code/reason (even invalid ones) and moves to CLOSING. */
  sendCloseFrame(code = null, reason = null, isReply = false) {
    if (this.state !== STATE.OPEN) return; // CLOSING/CLOSED: ignored, as Autobahn does
    this.sendFrame({ opcode: 8, payload: closePayload(code, reason) });
    this.state = STATE.CLOSING;
    this.closedByMe = !isReply;
    this.localCloseCode = code;
    this.localCloseReason = reason === null ? null : Buffer.isBuffer(reason) ? reason.toString('latin1') : reason;
    if (this.closedByMe) {
      this.closeHandshakeTimer = this.later(TIMEOUTS.closeHandshake, () => {
        if (this.state === STATE.CLOSED) return;
        this.wasClean = false;
        this.wasNotCleanReason = 'peer did not respond (in time) in closing handshake';
        this.wasCloseHandshakeTimeout = true;
        this.dropConnection(true);
      });
    }
  }

  /** The application-level close: only 1000 and 3000-4999, as Autobahn enforces. */
  sendClose(code = null, reason = null) {
    if (code !== null && code !== 1000 && !(code >= 3000 && code <= 4999)) throw new Error(`invalid close code ${code}`);
    if (reason !== null && code === null) throw new Error('close reason without close code');
    const reasonBuf = reason === null ? null : Buffer.from(reason, 'utf8');
    if (reasonBuf && reasonBuf.length + 2 > 125) throw new Error('close reason too long');
    this.sendCloseFrame(code, reasonBuf, false);
  }

  /** Sends a data message, optionally fragmented (Autobahn's splitting, including its trailing empty frame). */
  sendMessage(payload, { isBinary = false, fragmentSize = null, sync = false } = {}) {
    if (this.state !== STATE.OPEN) return;
    const raw = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    // With permessage-deflate the whole message is compressed first, then fragmented; RSV1 marks its first frame.
    const body = this.perMessageDeflate ? this.perMessageDeflate.compress(raw) : raw;
    const rsv = this.perMessageDeflate ? 4 : 0;
    const opcode = isBinary ? 2 : 1;
    const pfs = fragmentSize ?? (this.autoFragmentSize > 0 ? this.autoFragmentSize : null);
    if (pfs === null || body.length <= pfs) {
      this.sendFrame({ opcode, payload: body, sync, rsv });
      return;
    }
    // Note "j > n": when the length is a multiple of the fragment size, a
    // final empty frame carries FIN (4 MiB in 256 B fragments is 16,385 frames).
    const n = body.length;
    let i = 0;
    let first = true;
    let done = false;
    while (!done) {
      let j = i + pfs;
      if (j > n) {
        done = true;
        j = n;
      }
      this.sendFrame({ opcode: first ? opcode : 0, payload: body.subarray(i, j), fin: done, sync, rsv: first ? rsv : 0 });
      first = false;
      i += pfs;
    }
  }

  /** Streaming API (cases 6.4.3/6.4.4): one frame, FIN unset, payload written in pieces over time. */
  beginMessage(isBinary = false) {
    if (this.state !== STATE.OPEN) return;
    this.sendOpcode = isBinary ? 2 : 1;
    this.sendState = SEND_STATE.MESSAGE_BEGIN;
  }

  beginMessageFrame(length) {
    if (this.state !== STATE.OPEN) return;
    const mask = this.isServer ? null : randomMask();
    const opcode = this.sendState === SEND_STATE.MESSAGE_BEGIN ? this.sendOpcode : 0;
    this.txFrameStats[opcode] = (this.txFrameStats[opcode] ?? 0) + 1;
    this.sendData(encodeHeader({ opcode, fin: false, mask, length }));
    this.sendFrameMask = mask;
    this.sendFrameLength = length;
    this.sendFramePointer = 0;
    this.sendState = SEND_STATE.INSIDE_MESSAGE_FRAME;
  }

  sendMessageFrameData(payload, sync = false) {
    if (this.state !== STATE.OPEN) return;
    const left = this.sendFrameLength - this.sendFramePointer;
    const part = Buffer.from(payload.subarray(0, left));
    if (this.sendFrameMask) applyMask(part, this.sendFrameMask, this.sendFramePointer);
    this.sendFramePointer += part.length;
    this.sendData(part, sync);
    if (this.sendFramePointer >= this.sendFrameLength) this.sendState = SEND_STATE.INSIDE_MESSAGE;
  }

  endMessage() {
    if (this.state !== STATE.OPEN) return;
    this.sendFrame({ opcode: 0, payload: EMPTY, fin: true });
    this.sendState = SEND_STATE.GROUND;
  }

  // ------------------------------------------------------- closing / failing

  failConnection(code = CLOSE.GOING_AWAY, reason = 'Going Away') {
    if (this.state === STATE.CLOSED) return;
    this.failedByMe = true;
    if (this.state === STATE.CONNECTING) this.dropConnection(true);
    else if (this.state !== STATE.CLOSING) this.sendCloseFrame(code, Buffer.from(reason, 'utf8').subarray(0, 123), false);
    else this.dropConnection(false);
  }

  protocolViolation(reason) {
    this.violations = (this.violations ?? []).concat(reason);
    this.failConnection(CLOSE.PROTOCOL_ERROR, reason);
  }

  invalidPayload(reason) {
    this.violations = (this.violations ?? []).concat(reason);
    this.failConnection(CLOSE.INVALID_PAYLOAD, reason);
  }

  /** Closes TCP: abort destroys at once, otherwise after pending writes are flushed. */
  dropConnection(abort = false) {
    if (this.state === STATE.CLOSED) return;
    this.droppedByMe = true;
    this.state = STATE.CLOSED;
    if (abort) {
      this.socket.destroy();
    } else {
      this.socket.end();
      // Like Twisted's loseConnection: close the socket once written, without waiting for the peer's FIN.
      if (this.socket.writableFinished) this.socket.destroy();
      else this.socket.once('finish', () => this.socket.destroy());
    }
  }

  connectionLost() {
    if (this.lost) return;
    this.lost = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.sendQueue.length = 0;
    this.state = STATE.CLOSED;
    if (!this.wasClean && !this.droppedByMe && this.wasNotCleanReason === null) {
      this.wasNotCleanReason = 'peer dropped the TCP connection without previous WebSocket closing handshake';
    }
    this.onConnectionLost();
  }

  onConnectionLost() {}
}
