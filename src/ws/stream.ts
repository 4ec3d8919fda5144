/**
 * createWebSocketStream(ws, options): a Duplex over a WebSocket, as in ws:
 * messages are read as chunks, writes are sent as messages, end() starts the
 * closing handshake, destroy() terminates.
 */
import { Duplex, type DuplexOptions } from 'node:stream';
import type { WebSocket } from './websocket.js';

function emitClose(stream: Duplex): void {
  stream.emit('close');
}

function duplexOnEnd(this: Duplex): void {
  if (!this.destroyed && this.writableFinished) this.destroy();
}

function duplexOnError(this: Duplex, err: Error): void {
  this.removeListener('error', duplexOnError);
  this.destroy();
  // Do not swallow the error when nobody listens for it.
  if (this.listenerCount('error') === 0) this.emit('error', err);
}

export function createWebSocketStream(ws: WebSocket, options?: DuplexOptions): Duplex {
  let terminateOnDestroy = true;

  const duplex = new Duplex({
    ...options,
    autoDestroy: false,
    emitClose: false,
    objectMode: false,
    writableObjectMode: false,
  });

  ws.on('message', function message(msg: any, isBinary: boolean) {
    const data = !isBinary && duplex.readableObjectMode ? msg.toString() : msg;
    if (!duplex.push(data)) ws.pause();
  });

  ws.once('error', function error(err: Error) {
    if (duplex.destroyed) return;
    // The connection is closing already (a close frame is on its way): do not terminate it.
    terminateOnDestroy = false;
    duplex.destroy(err);
  });

  ws.once('close', function close() {
    if (duplex.destroyed) return;
    duplex.push(null);
  });

  duplex._destroy = function (err, callback) {
    if (ws.readyState === ws.CLOSED) {
      callback(err);
      process.nextTick(emitClose, duplex);
      return;
    }
    let called = false;
    ws.once('error', function error(error: Error) {
      called = true;
      callback(error);
    });
    ws.once('close', function close() {
      if (!called) callback(err);
      process.nextTick(emitClose, duplex);
    });
    if (terminateOnDestroy) ws.terminate();
  };

  duplex._final = function (callback) {
    if (ws.readyState === ws.CONNECTING) {
      ws.once('open', function open() {
        duplex._final(callback);
      });
      return;
    }
    // No socket: a client whose handshake failed; its 'error' event follows.
    const socket = ws._socket;
    if (socket === null) return;
    if (socket.writableFinished) {
      callback();
      if (duplex.readableEnded) duplex.destroy();
    } else {
      socket.once('finish', function finish() {
        // 'end' follows on the duplex: the EOF is pushed when the WebSocket emits 'close'.
        callback();
      });
      ws.close();
    }
  };

  duplex._read = function () {
    if (ws.isPaused) ws.resume();
  };

  duplex._write = function (chunk, encoding, callback) {
    if (ws.readyState === ws.CONNECTING) {
      ws.once('open', function open() {
        duplex._write(chunk, encoding, callback);
      });
      return;
    }
    ws.send(chunk, callback);
  };

  duplex.on('end', duplexOnEnd);
  duplex.on('error', duplexOnError);
  return duplex;
}
