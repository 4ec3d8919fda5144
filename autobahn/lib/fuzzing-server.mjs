/**
 * Fuzzing server mode (testing a client). The testee client drives it with
 * the suite's URLs:
 *   /getCaseCount                 → a text message with the number of cases, then close
 *   /runCase?case=N&agent=A       → run case N (1-based) as the server side
 *   /getCaseInfo?case=N           → {"id", "description"}, then close
 *   /updateReports?agent=A        → write the reports, then close
 */
import net from 'node:net';
import { CaseConnection } from './case-connection.mjs';
import { CASES_BY_ID } from './catalogue.mjs';
import { serverAccept } from './deflate.mjs';
import { checkRequest, httpError, parseHead, serverResponse, splitHead } from './handshake.mjs';

class ServerCaseConnection extends CaseConnection {
  constructor(opts, server) {
    super({ ...opts, isServer: true });
    this.server = server;
    this.head = Buffer.alloc(0);
    this.path = null;
  }

  reject(status, text) {
    this.socket.end(httpError(status, text));
    this.state = 'CLOSED';
    this.server.log?.(`rejected request: ${status} ${text}`);
  }

  processHandshake(data) {
    this.head = Buffer.concat([this.head, data]);
    const split = splitHead(this.head);
    if (!split) {
      if (this.head.length > 64 * 1024) this.reject(431, 'Request Header Fields Too Large');
      return;
    }
    this.httpRequest = split.head;
    const req = checkRequest(parseHead(split.head));
    if (req.error) return this.reject(400, req.error);

    const { caseIds } = this.server;
    const agent = req.params.get('agent');
    const caseParam = req.params.get('case');
    const index = caseParam === null ? null : Number(caseParam);
    if (index !== null && !(Number.isInteger(index) && index >= 1 && index <= caseIds.length)) return this.reject(400, `case ${caseParam} not found`);
    this.path = req.path;
    if (req.path === '/runCase') {
      if (index === null) return this.reject(400, 'need case to run');
      if (!agent) return this.reject(400, 'need agent to run case');
      // Excluded for this agent ("exclude-agent-cases"): open, then just close, as the suite does.
      if (!this.server.isExcluded?.(agent, caseIds[index - 1])) this.prepareCase(CASES_BY_ID.get(caseIds[index - 1]), index, agent);
    } else if (req.path === '/getCaseInfo') {
      if (index === null) return this.reject(400, 'need case to get info');
      this.infoCase = CASES_BY_ID.get(caseIds[index - 1]);
    } else if (req.path === '/updateReports') {
      if (!agent) return this.reject(400, 'need agent to update reports for');
      this.reportAgent = agent;
    } else if (req.path !== '/getCaseCount') {
      return this.reject(404, `unknown path ${req.path}`);
    }
    // permessage-deflate is accepted only in the compression cases, as each case's parameters say.
    let extensions = null;
    if (this.Case?.DEFLATE && req.extensions) {
      const accepted = serverAccept(req.extensions, this.Case.DEFLATE.accepts);
      if (accepted) {
        extensions = accepted.header;
        this.perMessageDeflate = accepted.codec;
      }
    }
    this.httpResponse = serverResponse(req.key, extensions);
    const raw = Buffer.from(this.httpResponse, 'latin1');
    this.socket.write(raw);
    this.logTxOctets(raw, false);
    this.opened(split.rest);
  }

  onServiceOpen() {
    if (this.path === '/getCaseCount') {
      this.sendMessage(JSON.stringify(this.server.caseIds.length));
      this.sendClose();
    } else if (this.path === '/getCaseInfo') {
      this.sendMessage(JSON.stringify({ id: this.infoCase.ID, description: this.infoCase.DESCRIPTION }));
      this.sendClose();
    } else if (this.path === '/runCase') {
      this.sendClose();
    } else if (this.path === '/updateReports') {
      Promise.resolve(this.server.onUpdateReports?.(this.reportAgent)).finally(() => this.sendClose());
    }
  }
}

/**
 * @param {object} o
 * @param {string[]} o.caseIds
 * @param {number} [o.port] 0 picks a free port
 * @param {string} [o.host]
 * @param {number} [o.caseTimeout] seconds, caps every case
 * @param {(result: object) => void} o.onResult
 * @param {(agent: string) => (void|Promise<void>)} [o.onUpdateReports]
 * @param {(agent: string, id: string) => boolean} [o.isExcluded] skip a case for an agent
 * @returns {Promise<{ port: number, url: string, close(): Promise<void> }>}
 */
export function startFuzzingServer({ caseIds, port = 0, host = '127.0.0.1', caseTimeout, onResult, onUpdateReports, isExcluded, log }) {
  const state = { caseIds, onUpdateReports, isExcluded, log };
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    new ServerCaseConnection({ socket, caseTimeout, onResult }, state);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const actual = server.address().port;
      resolve({
        port: actual,
        url: `ws://${host}:${actual}`,
        close: () =>
          new Promise((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
