/**
 * Fuzzing client mode (testing a server): one TCP connection per case,
 * sequentially, each opened with our own handshake and run by the case.
 */
import net from 'node:net';
import { CaseConnection } from './case-connection.mjs';
import { CASES_BY_ID } from './catalogue.mjs';
import { clientAccept, offerString } from './deflate.mjs';
import { checkResponse, clientRequest, newKey, parseHead, splitHead } from './handshake.mjs';

class ClientCaseConnection extends CaseConnection {
  constructor(opts, { host, path, fixedAgent }) {
    super({ ...opts, isServer: false });
    this.key = newKey();
    this.fixedAgent = fixedAgent;
    this.head = Buffer.alloc(0);
    opts.socket.once('connect', () => {
      // Only the compression cases offer permessage-deflate, with their parameters.
      this.offer = this.Case?.DEFLATE ? offerString(this.Case.DEFLATE.offers) : null;
      this.httpRequest = clientRequest({ host, path, key: this.key, extensions: this.offer });
      const raw = Buffer.from(this.httpRequest, 'latin1');
      this.socket.write(raw);
      this.logTxOctets(raw, false);
    });
  }

  processHandshake(data) {
    this.head = Buffer.concat([this.head, data]);
    const split = splitHead(this.head);
    if (!split) {
      if (this.head.length > 64 * 1024) this.dropConnection(true);
      return;
    }
    this.httpResponse = split.head;
    const parsed = parseHead(split.head);
    if (!this.fixedAgent) this.caseAgent = parsed.headers.server ?? 'UnknownServer';
    let error = checkResponse(parsed, this.key, this.offer);
    if (!error && parsed.headers['sec-websocket-extensions']) {
      const answer = clientAccept(parsed.headers['sec-websocket-extensions']);
      if (answer.error) error = answer.error;
      else this.perMessageDeflate = answer.codec;
    }
    if (error) {
      this.violations = [`opening handshake: ${error}`];
      this.wasNotCleanReason = error;
      this.dropConnection(true);
      return;
    }
    this.opened(split.rest);
  }
}

function runOne(target, C, index, agent, caseTimeout) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.hostname, port: Number(target.port || 80) });
    const conn = new ClientCaseConnection(
      { socket, caseTimeout, onResult: resolve },
      { host: target.host, path: target.pathname + target.search, fixedAgent: agent },
    );
    conn.prepareCase(C, index, agent ?? 'UnknownServer');
    // A refused connection still ends as this case's result ("handshake never completed"), with the reason.
    socket.once('error', (e) => {
      if (conn.state === 'CONNECTING') conn.wasNotCleanReason ??= `TCP: ${e.message}`;
    });
  });
}

/**
 * Runs the cases against a server.
 * @param {object} o
 * @param {string} o.url ws://host:port/path
 * @param {string} [o.agent] report name; default: the server's Server header
 * @param {string[]} o.caseIds
 * @param {number} [o.caseTimeout] seconds, caps every case
 * @param {(result: object, done: number, total: number) => void} [o.onResult]
 */
export async function runFuzzingClient({ url, agent, caseIds, caseTimeout, onResult }) {
  const target = new URL(url);
  if (target.protocol !== 'ws:') throw new Error(`only ws:// URLs are supported (got ${url})`);
  const results = [];
  for (const [i, id] of caseIds.entries()) {
    const C = CASES_BY_ID.get(id);
    const result = await runOne(target, C, i + 1, agent, caseTimeout);
    results.push(result);
    onResult?.(result, i + 1, caseIds.length);
  }
  return results;
}
