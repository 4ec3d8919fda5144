/**
 * defineCase(): a compact way to write a catalogue entry as a Case subclass
 * with its id, description and expectation (texts as in the suite).
 */
import { Case } from './case-base.mjs';

/**
 * @param {string} id
 * @param {string} description
 * @param {string} expectation
 * @param {object} methods instance methods (onOpen, init, onMessage, onConnectionLost, ...)
 * @param {object} [opts]
 * @param {typeof Case} [opts.base]
 * @param {number} [opts.maxSeconds] harness cap for this case
 * @param {object} [opts.statics] extra static fields (parameters shared by generated cases)
 */
export function defineCase(id, description, expectation, methods, { base = Case, maxSeconds, statics } = {}) {
  const C = class extends base {};
  Object.defineProperty(C, 'name', { value: `Case${id.replaceAll('.', '_')}` });
  for (const [k, v] of Object.entries(methods)) C.prototype[k] = v;
  C.ID = id;
  C.DESCRIPTION = description;
  C.EXPECTATION = expectation;
  if (maxSeconds !== undefined) C.MAX_SECONDS = maxSeconds;
  if (statics) Object.assign(C, statics);
  return C;
}
