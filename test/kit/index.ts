/**
 * The test kit: everything a test needs besides the code under test.
 *
 *   wait.ts        withTimeout, Queue, deferred, once, failure, cleanup (useCleanup / defer + cleanup)
 *   wire.ts        frames built and parsed, close payloads, accept keys (independent of src/)
 *   http.ts        handshake requests by hand, response and request heads parsed, rawHttp
 *   raw-client.ts  RawClient: speaks the protocol by hand to a server under test
 *   raw-server.ts  rawServer: answers the handshake by hand to a client under test
 *   peers.ts       honest peers: wsbolt's server on port 0, `ws` clients
 *   recorders.ts   a Protocol's events as data; a handler's callbacks as queues
 *   processes.ts   child processes read line by line; the environment without sanitizers
 *   net.ts         HOST, freePort, ipv6Loopback, duplexPair (an in-memory pair)
 *   rng.ts         a seeded PRNG
 */
export * from './wait.js';
export * from './wire.js';
export * from './http.js';
export * from './raw-client.js';
export * from './raw-server.js';
export * from './peers.js';
export * from './recorders.js';
export * from './processes.js';
export * from './net.js';
export * from './rng.js';
