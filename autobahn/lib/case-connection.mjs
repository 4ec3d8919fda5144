/**
 * A protocol instance that runs one test case: starts it when the
 * connection opens, bounds it in time, and turns the connection's end into
 * a result record.
 */
import { FuzzingProtocol } from './protocol.mjs';
import { caseResult } from './results.mjs';

export class CaseConnection extends FuzzingProtocol {
  /**
   * @param {object} o
   * @param {boolean} o.isServer
   * @param {import('node:net').Socket} o.socket
   * @param {(result: object) => void} o.onResult called once, when a case connection ends
   * @param {number} [o.caseTimeout] seconds; overrides the case's own cap when smaller
   */
  constructor({ isServer, socket, onResult, caseTimeout }) {
    super({ isServer, socket });
    this.onResult = onResult;
    this.caseTimeout = caseTimeout;
    this.Case = null;
    this.caseIndex = null;
    this.caseAgent = null;
    this.caseStarted = null;
    this.caseStart = 0;
  }

  /** Prepares case class C (1-based index in the run) for agent. */
  prepareCase(C, index, agent) {
    this.Case = C;
    this.caseIndex = index;
    this.caseAgent = agent;
    this.caseStarted = new Date().toISOString();
    this.runCase = new C(this);
  }

  onOpen() {
    if (!this.runCase) return this.onServiceOpen();
    this.caseStart = Date.now();
    // The global bound: whatever the testee does, the case ends by then.
    const cap = Math.min(this.Case.MAX_SECONDS, this.caseTimeout ?? Infinity);
    this.later(cap * 1000, () => {
      this.harnessTimeout = true;
      this.log(['HTO', cap]);
      this.dropConnection(true);
    });
    this.runCase.onOpen();
  }

  /** Connections that run no case (getCaseCount, updateReports, ...). */
  onServiceOpen() {}

  onConnectionLost() {
    if (!this.runCase) return;
    this.runCase.onConnectionLost();
    this.onResult(caseResult(this, this.runCase, this.Case));
  }
}
