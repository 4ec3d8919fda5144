/**
 * Moved to test/kit/ (import from '../kit/index.js'). A thin re-export kept
 * for a while so that branches written before the move still compile; new
 * tests must not import it.
 */
export { withTimeout, Queue, useCleanup, withoutSanitizers, socketOf, expectedTransport } from './kit/index.js';
