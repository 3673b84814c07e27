"""Raw HTTP over a socket, for requests no HTTP client library will send."""

import asyncio
import json


def head(method, path, headers):
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def exchange(port, data, timeout=5):
    """Sends data, then reads until the server closes: (status, headers, parsed JSON body).

    status is None when the server closed without answering.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        answer = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    return parse(answer)


def parse(answer):
    if not answer:
        return None, {}, None
    header_block, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = header_block.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, json.loads(body) if body else None


def error_code(body):
    assert body == {"success": False, "error": {"code": body["error"]["code"], "message": body["error"]["message"]}}
    return body["error"]["code"]
