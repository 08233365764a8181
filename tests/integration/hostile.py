#!/usr/bin/env python3
"""Hostile input against a running signerd on its UNIX socket.

  hostile.py SOCKET COUNT SEED TYPE

Sends COUNT requests, each with one random string (random UTF-8 of any code
point, raw binary bytes, cut multi-byte sequences, control bytes, long text)
in one string field of one endpoint: every member of POST /v1/tokens
(type, sub, aud, a claim name and value, an unknown member's name), of
POST /v1/verify (token, type, aud), the type in GET /.well-known/jwks/X.json,
any path, and the Content-Type header.  TYPE is a configured type, used so
that the other fields reach deeper checks.

Every answer must be below 500 with a body that is valid UTF-8 JSON; an error
answer carries "error" and "detail" strings.  Prints one line per status with
its count, and exits 1 with the first offending request otherwise.
"""
import json
import random
import socket
import sys


def http(path_sock, method, path, body=None, ctype=b"application/json"):
    """One request on a fresh connection: (status, headers, body bytes)."""
    req = method + b" " + path + b" HTTP/1.1\r\nHost: signerd\r\nConnection: close\r\n"
    if body is not None:
        if ctype is not None:
            req += b"Content-Type: " + ctype + b"\r\n"
        req += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    req += b"\r\n" + (body or b"")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path_sock)
    s.sendall(req)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get(b"content-length", b"-1"))
    return status, headers, rest if n < 0 else rest[:n]


def rand_text(rnd):
    """A random string as raw bytes (not necessarily valid UTF-8)."""
    kind = rnd.randrange(6)
    n = rnd.choice([0, 1, 2, 5, 12, 40, 63, 64, 65, 100, 300, 1100])
    if kind == 0:  # any code point but surrogates
        cps = []
        while len(cps) < n:
            cp = rnd.choice([rnd.randrange(0x20, 0x7f), rnd.randrange(0, 0x20),
                             rnd.randrange(0x80, 0x800), rnd.randrange(0x800, 0x10000),
                             rnd.randrange(0x10000, 0x110000)])
            if not 0xD800 <= cp <= 0xDFFF:
                cps.append(cp)
        return "".join(map(chr, cps)).encode("utf-8")
    if kind == 1:  # binary
        return bytes(rnd.randrange(256) for _ in range(n))
    if kind == 2:  # the shape: an ASCII byte, then two-byte characters
        return ("a" * rnd.randrange(0, 3) + "\u00e9" * n).encode("utf-8")
    if kind == 3:  # three- and four-byte characters cut at a random byte
        t = ("\u20ac\U0001F511" * (n + 1)).encode("utf-8")
        return t[: rnd.randrange(len(t) + 1)]
    if kind == 4:  # controls, quotes, backslashes, bidi overrides, C1
        pool = ["\x00", "\x1b[31m", "\n", "\r", "\t", '"', "\\", "\u202e", "\u0085", "%", "'"]
        return "".join(rnd.choice(pool) for _ in range(n)).encode("utf-8")
    return bytes(rnd.randrange(0x80, 0x100) for _ in range(n))  # high bytes only


def json_str(raw):
    """A JSON string literal holding raw bytes as they are (control bytes,
    quotes and backslashes escaped so the document stays well-formed; bytes
    that are not UTF-8 stay raw, as a hostile client sends them)."""
    out = bytearray(b'"')
    for b in raw:
        if b == 0x22 or b == 0x5C:
            out += b"\\" + bytes([b])
        elif b < 0x20:
            out += b"\\u%04x" % b
        else:
            out.append(b)
    return bytes(out + b'"')


def path_bytes(raw):
    """Raw bytes usable in a request line: space, CR, LF, '?', '#' and '%'
    percent-encoded, every other byte raw."""
    out = bytearray()
    for b in raw:
        if b <= 0x20 or b in b"?#%" or b == 0x7F:
            out += b"%%%02X" % b
        else:
            out.append(b)
    return bytes(out)


def check(desc, status, body):
    if status >= 500:
        raise AssertionError(f"{desc}: HTTP {status}: {body[:300]!r}")
    try:
        doc = json.loads(body.decode("utf-8", errors="strict"))
    except (UnicodeDecodeError, ValueError) as e:
        raise AssertionError(f"{desc}: HTTP {status}: body is not UTF-8 JSON ({e}): {body[:300]!r}")
    if status >= 400 and status != 422:
        if not isinstance(doc.get("error"), str) or not isinstance(doc.get("detail"), str):
            raise AssertionError(f"{desc}: HTTP {status}: no error/detail strings: {doc!r}")
    return doc


def expect(desc, got, want, body):
    if got != want:
        raise AssertionError(f"{desc}: HTTP {got} (wanted {want}): {body[:300]!r}")


def reported_cases(sock, typ):
    """The requests of the bug report: 40 two-byte characters after an ASCII
    byte, so that a cut at 64 or 12 bytes splits a character."""
    tb = json_str(typ.encode())
    long = "a" + "\u00e9" * 40
    st, _, b = http(sock, b"POST", b"/v1/tokens",
                    b"{" + json_str(long.encode()) + b':1,"type":' + tb + b',"sub":"x"}')
    expect("unknown member", st, 400, b)
    doc = check("unknown member", st, b)
    if doc["error"] != "bad_request" or ('unknown member "' + long + '"') not in doc["detail"]:
        raise AssertionError(f"unknown member: {doc!r}")
    st, _, b = http(sock, b"POST", b"/v1/tokens", b'{"type":' + tb + b',"sub":"x"}')
    expect("issue", st, 200, b)
    token = json.loads(b)["token"]
    st, _, b = http(sock, b"POST", b"/v1/verify",
                    b'{"token":' + json_str(token.encode()) + b',"aud":' + json_str(long.encode()) + b"}")
    expect("verify with a long aud", st, 422, b)
    doc = check("verify with a long aud", st, b)
    if doc.get("valid") is not False or doc.get("reason") != "audience" or \
            ('(expected "' + long + '")') not in doc.get("error", ""):
        raise AssertionError(f"verify with a long aud: {doc!r}")
    st, _, b = http(sock, b"GET", b"/.well-known/jwks/\xc3.json")
    expect("JWKS of a cut character", st, 404, b)
    doc = check("JWKS of a cut character", st, b)
    if doc["error"] != "unknown_type" or 'type "\\xC3" is not configured' not in doc["detail"]:
        raise AssertionError(f"JWKS of a cut character: {doc!r}")
    for path in (b"/v1/tokens", b"/v1/verify"):
        st, _, b = http(sock, b"POST", path, b'{"type":' + tb + b',"sub":"x","token":"a.b.c"}',
                        ctype=None)
        expect(f"{path.decode()} without Content-Type", st, 415, b)
        doc = check("no Content-Type", st, b)
        if doc["error"] != "unsupported_media_type":
            raise AssertionError(f"no Content-Type: {doc!r}")
    print("reported cases: 400, 422 (reason audience), 404, 415 without Content-Type")


def main():
    sock, count, seed, typ = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rnd = random.Random(seed)
    tb = json_str(typ.encode())
    counts = {}
    reported_cases(sock, typ)
    for i in range(count):
        s = rand_text(rnd)
        q = json_str(s)
        case = i % 14
        method, path, body, ctype = b"POST", b"/v1/tokens", None, b"application/json"
        if case == 0:
            body = b'{"type":' + q + b',"sub":"x"}'
        elif case == 1:
            body = b'{"type":' + tb + b',"sub":' + q + b"}"
        elif case == 2:
            body = b'{"type":' + tb + b',"sub":"x","aud":' + q + b"}"
        elif case == 3:
            body = b'{"type":' + tb + b',"sub":"x","claims":{' + q + b":1}}"
        elif case == 4:
            body = b'{"type":' + tb + b',"sub":"x","claims":{"k":' + q + b"}}"
        elif case == 5:
            body = b"{" + q + b':1,"type":' + tb + b',"sub":"x"}'
        elif case == 6:
            path, body = b"/v1/verify", b'{"token":' + q + b"}"
        elif case == 7:
            path, body = b"/v1/verify", b'{"token":"a.b.c","type":' + q + b"}"
        elif case == 8:
            path, body = b"/v1/verify", b'{"token":"a.b.c","type":' + tb + b',"aud":' + q + b"}"
        elif case == 9:
            path, body = b"/v1/verify", b"{" + q + b':1,"token":"a.b.c"}'
        elif case == 10:
            method, path = b"GET", b"/.well-known/jwks/" + path_bytes(s) + b".json"
        elif case == 11:
            # Not "//...": libevent 2.1 parses that as an authority and, when it
            # is not a host, answers 400 itself, in HTML, before signerd sees
            # the request (no hook for its error page in that version).
            method, path = b"GET", b"/p" + path_bytes(s)
        elif case == 12:
            ctype = path_bytes(s)[:200] or None
            body = b'{"type":' + tb + b',"sub":"x"}'
        else:
            path = b"/v1/verify"
            body = b'{"token":' + q + b',"type":' + tb + b"}"
        desc = f"request {i} (case {case}): {method.decode()} {path[:120]!r} {(body or b'')[:200]!r}"
        status, _, answer = http(sock, method, path, body, ctype)
        check(desc, status, answer)
        counts[status] = counts.get(status, 0) + 1
    for st in sorted(counts):
        print(f"HTTP {st}: {counts[st]}")
    print(f"{count} hostile requests: no 5xx, every body valid JSON")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
