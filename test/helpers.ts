/**
 * Moved to test/kit/ (import from '../kit/index.js'). A thin re-export kept
 * for a while so that branches written before the move still compile; new
 * tests must not import it.
 */
export { type FrameSpec, type ParsedFrame, frame, parseFrames, sentCloseCode, rng, feed, type Event, protocolRecorder as recorder } from './kit/index.js';
