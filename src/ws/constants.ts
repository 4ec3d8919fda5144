/** Constants shared by the ws-compatible API (the values `ws` 8 uses). */

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;
export const READY_STATES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;

export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';
export const BINARY_TYPES: readonly string[] =
  typeof Blob === 'undefined' ? ['nodebuffer', 'arraybuffer', 'fragments'] : ['nodebuffer', 'arraybuffer', 'fragments', 'blob'];

export const EMPTY_BUFFER = Buffer.alloc(0);
/** ws's default close timeout (ms). */
export const CLOSE_TIMEOUT = 30_000;
/** ws's default maxPayload: 100 MiB. */
export const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;
/** ws's default maxFragments (frames per message). */
export const DEFAULT_MAX_FRAGMENTS = 16 * 1024;
/** ws's default maxBufferedChunks (chunks held for one unfinished frame). */
export const DEFAULT_MAX_BUFFERED_CHUNKS = 256 * 1024;
/** ws's default maxPendingAutoPongs. */
export const DEFAULT_MAX_PENDING_AUTO_PONGS = 60;

/** Marks the listener installed by an `on<event>` attribute setter. */
export const kForOnEventAttribute = Symbol('kIsForOnEventAttribute');
/** The user's listener wrapped by addEventListener. */
export const kListener = Symbol('kListener');

export const NOOP = (): void => {};
