/** RFC 6455 §5.7: the example frames, byte for byte, in both directions. */
import { describe, expect, it } from 'vitest';
import { protocolRecorder } from '../kit/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const HELLO = Buffer.from('Hello').toString('hex');
const rfcKey = (target: Uint8Array, offset: number) => target.set([0x37, 0xfa, 0x21, 0x3d], offset);
const range = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff));

describe('RFC 6455 §5.7 examples', () => {
  it('single-frame unmasked text: decoded by a client, encoded by a server', () => {
    const wire = hex('81 05 48 65 6c 6c 6f');
    const client = protocolRecorder('client');
    client.protocol.receive(Buffer.from(wire));
    expect(client.events).toEqual([{ type: 'message', data: HELLO, binary: false }]);
    const server = protocolRecorder('server');
    server.protocol.send('Hello', false);
    expect(Buffer.concat(server.protocol.dataToSend())).toEqual(wire);
  });

  it('single-frame masked text: decoded by a server, encoded by a client', () => {
    const wire = hex('81 85 37 fa 21 3d 7f 9f 4d 51 58');
    const server = protocolRecorder('server');
    server.protocol.receive(Buffer.from(wire));
    expect(server.events).toEqual([{ type: 'message', data: HELLO, binary: false }]);
    const client = protocolRecorder('client', { maskKey: rfcKey });
    client.protocol.send('Hello', false);
    expect(Buffer.concat(client.protocol.dataToSend())).toEqual(wire);
    const clientBuffer = protocolRecorder('client', { maskKey: rfcKey });
    const user = Buffer.from('Hello');
    clientBuffer.protocol.send(user, false);
    expect(Buffer.concat(clientBuffer.protocol.dataToSend())).toEqual(wire);
    expect(user.toString()).toBe('Hello'); // the user's buffer is untouched
  });

  it('fragmented unmasked text', () => {
    const wire = hex('01 03 48 65 6c 80 02 6c 6f');
    const client = protocolRecorder('client');
    client.protocol.receive(Buffer.from(wire));
    expect(client.events).toEqual([{ type: 'message', data: HELLO, binary: false }]);
    const server = protocolRecorder('server');
    server.protocol.send('Hel', false, { fin: false });
    server.protocol.send('lo', false);
    expect(Buffer.concat(server.protocol.dataToSend())).toEqual(wire);
  });

  it('unmasked ping and masked pong', () => {
    const ping = hex('89 05 48 65 6c 6c 6f');
    const client = protocolRecorder('client', { maskKey: rfcKey });
    client.protocol.receive(Buffer.from(ping));
    expect(client.events).toEqual([{ type: 'ping', data: HELLO }]);
    // The automatic answer is the RFC's masked pong.
    expect(Buffer.concat(client.protocol.dataToSend())).toEqual(hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'));
    const server = protocolRecorder('server');
    server.protocol.ping('Hello');
    expect(Buffer.concat(server.protocol.dataToSend())).toEqual(ping);
    server.protocol.receive(hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'));
    expect(server.events).toEqual([{ type: 'pong', data: HELLO }]);
  });

  it('256 bytes binary in a single unmasked frame (16-bit length)', () => {
    const wire = Buffer.concat([hex('82 7e 01 00'), range(256)]);
    const client = protocolRecorder('client');
    client.protocol.receive(Buffer.from(wire));
    expect(client.events).toEqual([{ type: 'message', data: range(256).toString('hex'), binary: true }]);
    const server = protocolRecorder('server');
    server.protocol.send(range(256), true);
    expect(Buffer.concat(server.protocol.dataToSend())).toEqual(wire);
  });

  it('64 KiB binary in a single unmasked frame (64-bit length)', () => {
    const wire = Buffer.concat([hex('82 7f 00 00 00 00 00 01 00 00'), range(65536)]);
    const client = protocolRecorder('client');
    client.protocol.receive(Buffer.from(wire));
    expect(client.events).toEqual([{ type: 'message', data: range(65536).toString('hex'), binary: true }]);
    const server = protocolRecorder('server');
    server.protocol.send(range(65536), true);
    expect(Buffer.concat(server.protocol.dataToSend())).toEqual(wire);
  });
});
