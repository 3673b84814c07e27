"""Raw HTTP over a socket, for requests no HTTP client library will send."""

import asyncio
import json

import openapi_check


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
    status, headers, body = parse(answer)
    if status is not None:
        request_line = data.partition(b"\r\n")[0].decode("latin-1").split(" ")
        method, path = request_line[:2] if len(request_line) == 3 else (None, None)
        lowered = {name.lower(): value for name, value in headers.items()}
        openapi_check.check(method, path, status, Caseless(lowered), answer.partition(b"\r\n\r\n")[2])
    return status, headers, body


class Caseless(dict):
    def __contains__(self, name):
        return super().__contains__(name.lower())

    def get(self, name, default=None):
        return super().get(name.lower(), default)


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
