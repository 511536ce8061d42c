"""A small HTTP/1.1 client over asyncio streams for the benchmark scripts (standard library only):
one keep-alive connection per `Conn`, requests one after another on it, bodies by Content-Length
or chunked. Also the browser's sign-in (password only, at the prompt) and its CSRF token.
"""

import asyncio, json, re, urllib.parse


class HttpError(Exception):
    pass


class Conn:
    def __init__(self, base, cookie=""):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port or 80
        self.cookie = cookie
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self):
        if self.writer:
            self.writer.close()
            self.reader = self.writer = None

    async def send(self, method, path, body=b"", content_type=None, headers=()):
        """Writes a request (opening the connection if needed); `response()` reads its answer."""
        if self.writer is None:
            await self.open()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Accept: */*"]
        if self.cookie:
            lines.append(f"Cookie: {self.cookie}")
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        lines.extend(f"{k}: {v}" for k, v in headers)
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()

    async def response(self):
        """(status, headers with lower-case names, body bytes). Keeps the cookie jar's one cookie fresh."""
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in header_lines:
            if ":" in line:
                k, v = line.split(":", 1)
                k = k.strip().lower()
                if k == "set-cookie":
                    self._set_cookie(v.strip())
                headers[k] = v.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                body += await self.reader.readexactly(size + 2)
                body = body[:-2]
                if size == 0:
                    break
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def _set_cookie(self, value):
        name_value = value.split(";", 1)[0]
        name = name_value.split("=", 1)[0]
        jar = dict(c.split("=", 1) for c in self.cookie.split("; ") if "=" in c)
        jar[name] = name_value.split("=", 1)[1]
        self.cookie = "; ".join(f"{k}={v}" for k, v in jar.items())

    async def request(self, method, path, body=b"", content_type=None, headers=()):
        await self.send(method, path, body, content_type, headers)
        return await self.response()

    async def post_form(self, path, fields):
        return await self.request("POST", path, urllib.parse.urlencode(fields).encode(),
                                  "application/x-www-form-urlencoded")

    async def post_json(self, path, value):
        status, _, body = await self.request("POST", path, json.dumps(value).encode(), "application/json")
        return status, (json.loads(body) if body else None)


def csrf(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(base, username, password):
    """A browser signed in with the password only (at the prompt): (cookie header, CSRF token)."""
    import requests

    s = requests.Session()
    token = csrf(s.get(base + "/login").text)
    r = s.post(base + "/login", data={"csrf_token": token, "username": username, "password": password},
               allow_redirects=False)
    assert r.headers.get("location") == "/prompt", (username, r.status_code, r.text[:300])
    token = csrf(s.get(base + "/prompt").text)
    return "; ".join(f"{c.name}={c.value}" for c in s.cookies), token


async def send_push(conn, token):
    """"Send Me a Push" at the prompt, then the page: (request id, the number shown)."""
    status, headers, body = await conn.post_form("/prompt/push", {"csrf_token": token})
    to = headers.get("location", "")
    if status != 303 or not to.startswith("/prompt/push/"):
        raise HttpError(f"Send Me a Push: {status} {to} {body[:200]!r}")
    status, _, page = await conn.request("GET", to)
    m = re.search(rb'id="push-number">(\d+)<', page)
    if status != 200 or not m:
        raise HttpError(f"push page: {status}")
    return to.rsplit("/", 1)[1], m.group(1).decode()


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))]
