/**
 * Interop, wsbolt as the server: clients from `ws`, undici (Node's WHATWG
 * WebSocket) and Python's `websockets`. Chromium is in test/browser. The
 * matrix lands in test/interop/artifacts/matrix.md.
 */
import { type Pair, ourServer, pythonClientPeers, pythonWebsockets, runMatrix, undiciPeer, undiciVersion, wsClientPeer, wsVersion } from './harness.js';
import { useCleanup } from '../kit/index.js';

const defer = useCleanup();
const pythonClient = pythonClientPeers();

const pairs: Pair[] = [
  {
    name: `wsbolt server ⇄ ws ${wsVersion} client`,
    missing: null,
    canFragment: true,
    async open(mode, defer) {
      const server = await ourServer(mode, defer);
      const peer = await wsClientPeer(server.url, defer);
      return { ours: await server.next(), peer };
    },
  },
  {
    name: `wsbolt server ⇄ undici ${undiciVersion} WebSocket (WHATWG)`,
    missing: null,
    canFragment: false,
    async open(mode, defer) {
      const server = await ourServer(mode, defer);
      const peer = await undiciPeer(server.url, defer);
      return { ours: await server.next(), peer };
    },
  },
  {
    name: `wsbolt server ⇄ Python websockets ${pythonWebsockets.version} client`,
    missing: pythonWebsockets.missing,
    canFragment: true,
    async open(mode, defer, suite) {
      const server = await ourServer(mode, defer);
      const peer = await pythonClient(server.url, suite);
      return { ours: await server.next(), peer };
    },
  },
];

runMatrix('server', pairs, defer);
