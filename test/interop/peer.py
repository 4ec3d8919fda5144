"""Interop peer for wsbolt's tests, on Python's `websockets` (Debian's python3-websockets).

    /usr/bin/python3 peer.py client on|off     (then one URL per line on stdin: a connection to each)
    /usr/bin/python3 peer.py server on|off

An echo peer that also obeys commands: a text message starting with "cmd:" is a JSON command, anything else
is sent back as it came (text as text, binary as binary).
    {"op": "fragments", "parts": [...], "binary": false}   one message sent as one frame per part (hex if binary)
    {"op": "close", "code": 4002, "reason": "..."}         starts the closing handshake

It reports on stdout, one JSON object per line, numbering the connections 1, 2, ... in the order they open:
    {"event": "listening", "port": N}   (server)
    {"event": "open", "conn": 1, "extensions": ["permessage-deflate"]}
    {"event": "closed", "conn": 1, "code": N, "reason": "..."}
Written for websockets 10.x (Debian 12) and kept to what later versions also offer.
"""
import asyncio
import json
import sys

import websockets

MAX_SIZE = 1 << 24


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def extension_names(ws):
    extensions = getattr(ws, "extensions", None)
    if extensions is None:  # websockets >= 14 (new asyncio implementation)
        extensions = ws.protocol.extensions
    return [e.name for e in extensions]


connections = 0


async def run(ws, *_path):
    global connections
    connections += 1
    conn = connections
    emit("open", conn=conn, extensions=extension_names(ws))
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("cmd:"):
                command = json.loads(message[4:])
                if command["op"] == "fragments":
                    parts = [bytes.fromhex(p) for p in command["parts"]] if command.get("binary") else command["parts"]
                    await ws.send(parts)  # an iterable: one message, one frame per element
                elif command["op"] == "close":
                    await ws.close(command["code"], command["reason"])
            else:
                await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    emit("closed", conn=conn, code=ws.close_code, reason=ws.close_reason)


async def client(url, compression):
    try:
        async with websockets.connect(url, compression=compression, max_size=MAX_SIZE, ping_interval=None) as ws:
            await run(ws)
    except Exception as error:  # noqa: BLE001 - reported, the process goes on serving the next URL
        emit("error", url=url, message=repr(error))


async def clients(compression):
    loop = asyncio.get_running_loop()
    tasks = set()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        task = asyncio.create_task(client(line.strip(), compression))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def server(compression):
    async with websockets.serve(run, "127.0.0.1", 0, compression=compression, max_size=MAX_SIZE, ping_interval=None) as srv:
        emit("listening", port=list(srv.sockets)[0].getsockname()[1])
        await asyncio.Future()


def main():
    compression = "deflate" if sys.argv[2] == "on" else None
    asyncio.run(clients(compression) if sys.argv[1] == "client" else server(compression))


if __name__ == "__main__":
    main()
