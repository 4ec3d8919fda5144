/**
 * Interop, wsbolt as the client: servers from `ws` and Python's `websockets`.
 * The matrix lands in test/interop/artifacts/matrix.md.
 */
import { type Pair, ourClient, pythonServerPeers, pythonWebsockets, runMatrix, wsServerPeer, wsVersion } from './harness.js';
import { useCleanup } from '../kit/index.js';

const defer = useCleanup();
const pythonServer = pythonServerPeers();

const pairs: Pair[] = [
  {
    name: `wsbolt client ⇄ ws ${wsVersion} server`,
    missing: null,
    canFragment: true,
    async open(mode, defer) {
      const server = await wsServerPeer(defer);
      const ours = await ourClient(server.url, mode, defer);
      return { ours, peer: await server.next() };
    },
  },
  {
    name: `wsbolt client ⇄ Python websockets ${pythonWebsockets.version} server`,
    missing: pythonWebsockets.missing,
    canFragment: true,
    async open(mode, defer, suite) {
      const server = await pythonServer(suite);
      const ours = await ourClient(server.url, mode, defer);
      return { ours, peer: await server.next() };
    },
  },
];

runMatrix('client', pairs, defer);
