/** wsbolt: WebSocket server and client for Node.js. */
export { backend } from './native/index.js';
export * from './core/index.js';
