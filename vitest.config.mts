import { defineConfig } from 'vitest/config';

// Every test file runs in three configurations, named in the output:
// - native: the addon's kernels, and the addon's transport for plain TCP (issue 17);
// - stream: the addon's kernels over Node's streams (WSBOLT_TRANSPORT=stream);
// - js: the TypeScript fallback (WSBOLT_NO_NATIVE=1), over Node's streams.
// The differential test compares both kernels in one process, the transport test needs the addon's socket layer,
// the descriptor-leak test (10,000 connections) is about the native transport, and the conformance harness and the
// bench instrument never load wsbolt's backends, and the types test
// (test/ws/types.test.ts) only compiles: they run once, in native.
const runOnce = [
  'test/native/differential.test.ts',
  'test/native/transport.test.ts',
  'test/native/descriptors.test.ts',
  'test/autobahn/**',
  'test/bench/**',
  'test/package/install-without-compiler.test.ts',
  'test/native/fallback-warning.test.ts',
  'test/package/api-docs.test.ts',
  'test/ws/types.test.ts',
  'node_modules/**',
];

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'native', env: { WSBOLT_NO_NATIVE: '', WSBOLT_TRANSPORT: '', WSBOLT_EXPECT_BACKEND: 'native', WSBOLT_EXPECT_TRANSPORT: 'native' } },
      },
      {
        extends: true,
        test: {
          name: 'stream',
          env: { WSBOLT_NO_NATIVE: '', WSBOLT_TRANSPORT: 'stream', WSBOLT_EXPECT_BACKEND: 'native', WSBOLT_EXPECT_TRANSPORT: 'stream' },
          exclude: runOnce,
        },
      },
      {
        extends: true,
        test: {
          name: 'js',
          env: { WSBOLT_NO_NATIVE: '1', WSBOLT_TRANSPORT: '', WSBOLT_EXPECT_BACKEND: 'js', WSBOLT_EXPECT_TRANSPORT: 'stream' },
          exclude: runOnce,
        },
      },
    ],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
