/**
 * Says which backend is live. A fallback nobody hears about costs speed nobody
 * knows they lost, so a failed load warns once (this module runs once per
 * process, for require and import alike); a fallback chosen with
 * WSBOLT_NO_NATIVE, or silenced with WSBOLT_QUIET, only shows under
 * NODE_DEBUG=wsbolt.
 */
import { debuglog } from 'node:util';
import { envFlag, type LoadResult } from './load.js';

/** The `code` of the warning emitted when the addon does not load. */
export const NO_NATIVE_ADDON_WARNING = 'WSBOLT_NO_NATIVE_ADDON';

export function announceBackend(loaded: LoadResult): void {
  const log = debuglog('wsbolt');
  if (loaded.binding) {
    log('backend native: the addon from %s', loaded.file);
    return;
  }
  log('backend js (the TypeScript fallback): %s', loaded.reason);
  if (loaded.deliberate || envFlag('WSBOLT_QUIET')) return;
  // One line: a loader's message may go on with the directories it searched (NODE_DEBUG shows them).
  const reason = (loaded.reason ?? 'unknown reason').split('\n')[0]!.trim();
  process.emitWarning(
    `wsbolt: the native addon did not load (${reason}); running on the TypeScript fallback. Try \`npm rebuild wsbolt\`; WSBOLT_QUIET=1 silences this.`,
    { code: NO_NATIVE_ADDON_WARNING },
  );
}
