#!/usr/bin/python3
# ws_pipe.py: a WebSocket client as a pipe, for the integration tests
# (t/integration/test_websocket.cc). Each line on stdin goes out as one
# text message; each message received comes out as one line on stdout.
# When the server closes, a last line {"ws_closed": CODE} says how; a
# refused upgrade is {"ws_refused": STATUS}. Uses Debian's
# python3-websockets (10.x, asyncio API).
#
# usage: ws_pipe.py URL [CA_FILE|-] [ORIGIN|-]
import asyncio
import json
import os
import ssl
import sys
import threading

import websockets


def say(obj):
    try:
        sys.stdout.write(obj if isinstance(obj, str) else json.dumps(obj))
        sys.stdout.write("\n")
        sys.stdout.flush()
    except OSError:
        # The test has gone (closed its end): nothing left to tell.
        os._exit(0)


async def main():
    url = sys.argv[1]
    ca = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "-" else None
    origin = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
    ctx = None
    if url.startswith("wss:"):
        ctx = ssl.create_default_context(cafile=ca)
    try:
        ws = await websockets.connect(url, ssl=ctx, origin=origin,
                                      max_size=None, ping_interval=None)
    except websockets.exceptions.InvalidStatusCode as e:
        say({"ws_refused": e.status_code})
        return
    loop = asyncio.get_running_loop()
    lines = asyncio.Queue()

    # stdin is read by a thread: asyncio has no portable stdin reader.
    def reader():
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\n"))
        loop.call_soon_threadsafe(lines.put_nowait, None)
    threading.Thread(target=reader, daemon=True).start()

    async def up():
        while True:
            line = await lines.get()
            if line is None:
                await ws.close()
                return
            if line == "PING":
                pong = await ws.ping(b"sluice")
                await pong
                say({"ws_pong": True})
                continue
            await ws.send(line)

    async def down():
        try:
            async for msg in ws:
                say(msg)
        except websockets.exceptions.ConnectionClosed:
            pass
        say({"ws_closed": ws.close_code})

    sender = asyncio.ensure_future(up())
    await down()
    sender.cancel()


asyncio.run(main())
