import { defineConfig } from 'vitest/config';

// Every test file runs twice: once on the native addon, once with
// WSBOLT_NO_NATIVE=1 on the TypeScript fallback. The project name in the
// output says which.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'native', env: { WSBOLT_NO_NATIVE: '', WSBOLT_EXPECT_BACKEND: 'native' } },
      },
      {
        extends: true,
        // The differential test compares both implementations in one process, so it runs once, in the native project;
        // the transport test needs the addon's socket layer, so it too runs in the native project only.
        test: {
          name: 'js',
          env: { WSBOLT_NO_NATIVE: '1', WSBOLT_EXPECT_BACKEND: 'js' },
          // The conformance harness and the bench instrument never load wsbolt's backends: they run once, in the native project.
          exclude: ['test/native/differential.test.ts', 'test/native/transport.test.ts', 'test/autobahn/**', 'test/bench/**', 'node_modules/**'],
        },
      },
    ],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
