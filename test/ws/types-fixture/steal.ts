// Must NOT compile (types.test.ts): the engine's callbacks are not part of the public WebSocket.
import { serve } from 'wsbolt';

export async function steal(): Promise<void> {
  const server = await serve({
    port: 0,
    open(ws) {
      ws.onMessage = () => {};
      ws.onData = () => {};
    },
  });
  await server.close();
}
