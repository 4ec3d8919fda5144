/**
 * The test-case base class and its verdict rules, as Autobahn|Testsuite's
 * case/case.py defines them:
 *
 * - behavior: the list of observed events (messages, pongs, and the cases'
 *   own "timeout" markers) must equal one of the expected lists; the key of
 *   the matching list (OK or NON-STRICT) is the verdict, otherwise FAILED.
 * - behaviorClose: FAILED if the wrong side started the closing handshake
 *   (closedByMe), UNCLEAN if a clean close was required and did not happen,
 *   WRONG CODE if the peer's close code is not among the expected ones,
 *   FAILED BY CLIENT if we (as client) had to drop TCP ourselves, else OK.
 * - closedByWrongEndpointIsFatal (UTF-8 cases): a peer that never failed the
 *   connection did not detect the invalid payload, so behavior is FAILED too.
 *
 * Subclasses override onOpen/onMessage/onConnectionLost exactly where the
 * suite's cases do (7.x turns WRONG CODE into FAILED, 7.1.6 and 7.13.x are
 * INFORMATIONAL, 9.x judge by the echoed length and report durations).
 */

export const OK = 'OK';
export const NON_STRICT = 'NON-STRICT';
export const FAILED = 'FAILED';
export const WRONG_CODE = 'WRONG CODE';
export const UNCLEAN = 'UNCLEAN';
export const FAILED_BY_CLIENT = 'FAILED BY CLIENT';
export const INFORMATIONAL = 'INFORMATIONAL';
export const UNIMPLEMENTED = 'UNIMPLEMENTED';

/** Bytes from a string (UTF-8) or a byte-string written with \xNN escapes (latin1). */
export const utf8 = (s) => Buffer.from(s, 'utf8');
export const bytes = (s) => Buffer.from(s, 'latin1');

function sameEvent(a, b) {
  if (a.length !== b.length || a[0] !== b[0]) return false;
  for (let i = 1; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (Buffer.isBuffer(x) || Buffer.isBuffer(y)) {
      if (!Buffer.isBuffer(x) || !Buffer.isBuffer(y) || !x.equals(y)) return false;
    } else if (x !== y) {
      return false;
    }
  }
  return true;
}

export function sameEvents(received, expected) {
  return received.length === expected.length && received.every((e, i) => sameEvent(e, expected[i]));
}

export class Case {
  /** Case id, e.g. "1.1.1"; set by the catalogue. */
  static ID = '';
  static DESCRIPTION = '';
  static EXPECTATION = '';
  /** Upper bound the harness allows this case (seconds), on top of the case's own timers. */
  static MAX_SECONDS = 20;

  /** @param {import('./protocol.mjs').FuzzingProtocol} p */
  constructor(p) {
    this.p = p;
    this.received = [];
    /** Insertion-ordered: OK first, then NON-STRICT, like the suite's dicts. */
    this.expected = {};
    this.expectedClose = {};
    this.behavior = FAILED;
    this.behaviorClose = FAILED;
    this.result = 'Actual events differ from any expected.';
    this.resultClose = 'TCP connection was dropped without close handshake';
    this.reportTime = false;
    this.suppressClose = false;
    this.init();
  }

  init() {}

  onOpen() {}

  onMessage(payload, isBinary) {
    this.received.push(['message', payload, isBinary]);
    this.finishWhenDone();
  }

  onPong(payload) {
    this.received.push(['pong', payload]);
    this.finishWhenDone();
  }

  /** Once the events match every expected list, start the closing handshake if we are supposed to. */
  finishWhenDone() {
    for (const key of Object.keys(this.expected)) {
      if (!sameEvents(this.received, this.expected[key])) return;
    }
    if (this.expectedClose.closedByMe && !this.suppressClose) this.p.sendClose(this.expectedClose.closeCode[0]);
  }

  onConnectionLost() {
    for (const key of Object.keys(this.expected)) {
      if (sameEvents(this.received, this.expected[key])) {
        this.behavior = key;
        this.result = 'Actual events match at least one expected.';
        break;
      }
    }
    const p = this.p;
    if (!p.connectionWasOpen) {
      this.behaviorClose = FAILED;
      this.resultClose = 'The WebSocket opening handshake was never completed!';
      return;
    }
    const ec = this.expectedClose;
    if (ec.closedByMe !== p.closedByMe) {
      this.behaviorClose = FAILED;
      this.resultClose = 'The connection was failed by the wrong endpoint';
    } else if (ec.requireClean && !p.wasClean) {
      this.behaviorClose = UNCLEAN;
      this.resultClose = 'The spec requires the connection to be failed cleanly here';
    } else if (p.remoteCloseCode !== null && !ec.closeCode.includes(p.remoteCloseCode)) {
      this.behaviorClose = WRONG_CODE;
      this.resultClose = `The close code should have been ${ec.closeCode.join(',')} or empty`;
    } else if (!p.isServer && p.droppedByMe) {
      this.behaviorClose = FAILED_BY_CLIENT;
      this.resultClose = 'It is preferred that the server close the TCP connection';
    } else {
      this.behaviorClose = OK;
      this.resultClose = 'Connection was properly closed';
    }
    if (ec.closedByWrongEndpointIsFatal && ec.closedByMe !== p.closedByMe) this.behavior = FAILED;
  }
}

/** Close-frame cases (7.x): a wrong close code fails the case itself, not just the close. */
export class CloseCase extends Case {
  onConnectionLost() {
    super.onConnectionLost();
    if (this.behaviorClose === WRONG_CODE) {
      this.behavior = FAILED;
      this.result = this.resultClose;
    }
  }
}
