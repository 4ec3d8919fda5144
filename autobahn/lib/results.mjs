/**
 * Case results: the per-case record (the fields of Autobahn's case report
 * JSON) and a store indexed agent → case id.
 */
import { asciiLogData } from './protocol.mjs';

/** Messages and pongs as the report shows them (first 64 bytes, text or 0x-hex). */
function cleanEvents(events) {
  return events.map((e) => {
    if (e[0] === 'message') return [e[0], asciiLogData(e[1]), e[2]];
    if (e[0] === 'ping' || e[0] === 'pong') return [e[0], asciiLogData(e[1])];
    return e;
  });
}

/**
 * @param {import('./protocol.mjs').FuzzingProtocol & { caseIndex?: number, caseAgent?: string, caseStarted?: string, caseStart?: number }} p
 * @param {import('./case-base.mjs').Case} c
 * @param {typeof import('./case-base.mjs').Case} C
 */
export function caseResult(p, c, C) {
  const end = Date.now();
  const expected = {};
  for (const [k, v] of Object.entries(c.expected)) expected[k] = cleanEvents(v);
  return {
    case: p.caseIndex ?? null,
    id: C.ID,
    description: C.DESCRIPTION,
    expectation: C.EXPECTATION,
    agent: p.caseAgent,
    started: p.caseStarted,
    duration: p.caseStart ? end - p.caseStart : 0,
    reportTime: c.reportTime,
    reportCompressionRatio: false,
    behavior: c.behavior,
    behaviorClose: c.behaviorClose,
    expected,
    expectedClose: c.expectedClose,
    received: cleanEvents(c.received),
    result: c.result,
    resultClose: c.resultClose,
    wirelog: p.wirelog,
    createWirelog: p.createWirelog,
    closedByMe: p.closedByMe,
    failedByMe: p.failedByMe,
    droppedByMe: p.droppedByMe,
    wasClean: p.wasClean,
    wasNotCleanReason: p.wasNotCleanReason,
    wasServerConnectionDropTimeout: p.wasServerConnectionDropTimeout,
    wasOpenHandshakeTimeout: p.wasOpenHandshakeTimeout,
    wasCloseHandshakeTimeout: p.wasCloseHandshakeTimeout,
    localCloseCode: p.localCloseCode,
    localCloseReason: C.ID === '7.5.1' && p.localCloseReason ? Buffer.from(p.localCloseReason, 'latin1').toString('hex') : p.localCloseReason,
    remoteCloseCode: p.remoteCloseCode,
    remoteCloseReason: p.remoteCloseReason,
    isServer: p.isServer,
    createStats: p.createStats,
    rxOctetStats: p.rxOctetStats,
    rxFrameStats: p.rxFrameStats,
    txOctetStats: p.txOctetStats,
    txFrameStats: p.txFrameStats,
    httpRequest: p.httpRequest,
    httpResponse: p.httpResponse,
    trafficStats: null,
    // Harness extras (not in Autobahn's reports): what the fuzzer objected to, and whether our cap ended the case.
    violations: p.violations ?? [],
    harnessTimeout: p.harnessTimeout ?? false,
  };
}

export class ResultStore {
  constructor() {
    /** @type {Map<string, Map<string, object>>} */
    this.agents = new Map();
  }

  add(result) {
    if (!this.agents.has(result.agent)) this.agents.set(result.agent, new Map());
    this.agents.get(result.agent).set(result.id, result);
  }

  get(agent, id) {
    return this.agents.get(agent)?.get(id);
  }
}
