// ESM entry for `wsbolt/native`; see public.ts.
export * from './public.js';
