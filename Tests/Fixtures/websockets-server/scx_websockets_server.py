"""A small ShieldConex-shaped server on the Python `websockets` library (15.x), for tests.

It is deliberately *not* our simulator: another WebSocket stack with its default handshake
checks (a handshake request with a body or a `Content-Length` is refused with HTTP 400), and a
service that behaves as the documents allow: it throttles with 8001 (the only server-side code
the ORCA document lists), can refuse a field name repeated in one request (1004), answers
detokenize with the spec sample's `"succes"` spelling, partner-validate with no payload.

    python scx_websockets_server.py --key KEY [--latency-ms 20] [--rate-limit 2000]
        [--refuse-repeated-fields] [--refuse-handshakes N --refuse-status 503 --retry-after 1]
        [--reset-at N,...] [--stall-at N,...]

Faults: `--reset-at` resets (TCP RST, no close frame) the connection that carries the N-th
message received, counted over all connections; `--stall-at` makes that connection half-open: it
stops reading and answering and stays open until the client closes it.

The first stdout line is `listening on ws://127.0.0.1:PORT`. On SIGINT or SIGTERM it prints
its counters, one `name value` per line, and exits.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import http
import json
import signal
import socket
import struct
import sys
import time

from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

TEMPLATES = {
    "438ac8afecdd8035a21c126ee1fe6c19": ["card_number", "card_exp", "card_cvv"],
    "card-rotated": ["card_number", "card_exp", "card_cvv"],
    "152a4e3f7f31f0a746388adbae1b47f5": [
        "scx_token_card_number", "scx_token_card_exp", "scx_token_card_cvv", "scx_token_card_holder", "scx_token_account",
    ],
    "8e1580b8-12ea-4804-acaa-f9c922d124e6": ["scx_token_card_number"],
}
SECRET = b"scx websockets fixture"


class Service:
    def __init__(self, args):
        self.args = args
        self.keys = set(args.key)
        self.counters = {
            "handshakes": 0, "handshakes_refused": 0, "requests": 0, "tokenize": 0, "tokenize_ok": 0,
            "detokenize": 0, "read": 0, "heartbeat": 0, "throttled": 0, "repeated_field_refused": 0,
            "first_ok": 0.0, "last_ok": 0.0, "reset": 0, "stalled": 0,
        }
        self.received = 0
        self.sequence = 0
        self.tokens = {}  # bfid -> list of (name, token, value)
        self.stored = set()
        self.rate = args.rate_limit
        self.allowance = float(args.rate_limit or 0) / 10
        self.last = time.monotonic()
        self.refusals_left = args.refuse_handshakes

    def take(self):
        """A token bucket over all connections (burst: a tenth of a second's worth)."""
        if not self.rate:
            return True
        now = time.monotonic()
        burst = self.rate / 10
        self.allowance = min(burst, self.allowance + (now - self.last) * self.rate)
        self.last = now
        if self.allowance >= 1:
            self.allowance -= 1
            return True
        return False

    def message_id(self):
        self.sequence += 1
        return time.strftime("%Y%m%d%H%M%S") + f"{self.sequence:011d}"

    def token(self, name, value):
        digest = hmac.new(SECRET, (name + "\0" + value).encode(), hashlib.sha256).hexdigest()
        if value.isdigit() and len(value) >= 12:
            middle = "".join(str(int(c, 16) % 10) for c in digest[: len(value) - 10])
            return value[:6] + middle + value[-4:]
        if value.isdigit():
            return "".join(str(int(c, 16) % 10) for c in digest[: len(value)])
        return "tok_" + digest[: max(8, min(len(value), 32))]

    def answer(self, request, message_id, success, payload=None, spelling="success"):
        reply = {"traceId": request.get("traceId"), "action": request.get("action"), "messageId": message_id, spelling: success}
        if payload is not None:
            reply["payload"] = payload
        return reply

    def failure(self, request, code, message):
        return self.answer(request, self.message_id(), False, {"errorCode": code, "message": message})

    def handle(self, request):
        self.counters["requests"] += 1
        action = request.get("action")
        payload = request.get("payload") or {}
        if action == "heartbeat":
            self.counters["heartbeat"] += 1
            return self.answer(request, self.message_id(), True, {"timestamp": int(time.time() * 1000)})
        if action == "partner-validate":
            return self.answer(request, self.message_id(), True)
        if action == "template-validate":
            return self.answer(request, self.message_id(), payload.get("templateRef") in TEMPLATES)
        if action == "tokenization-tokenize":
            self.counters["tokenize"] += 1
        elif action == "tokenization-detokenize":
            self.counters["detokenize"] += 1
        elif action == "tokenization-read":
            self.counters["read"] += 1
        else:
            return self.failure(request, 1003, "Unknown action")
        if not self.take():
            self.counters["throttled"] += 1
            return self.failure(request, 8001, "Rate limit exceeded")
        if action == "tokenization-tokenize":
            fields = TEMPLATES.get(payload.get("templateRef"))
            if fields is None:
                return self.failure(request, 1202, "Template not found")
            values = payload.get("values") or []
            names = [v.get("name") for v in values]
            if self.args.fatal_echo:
                quoted = " ".join(f"{v.get('name')} {v.get('value')}" for v in values)
                return self.failure(request, 1202, f"Template not found for {quoted}")
            if self.args.refuse_repeated_fields:
                for name in names:
                    if names.count(name) > 1:
                        self.counters["repeated_field_refused"] += 1
                        return self.failure(request, 1004, f"Duplicate field: {name}")
            message_id = self.message_id()
            bfid = base64.b64encode(f"v1:{message_id}|{hashlib.md5(message_id.encode()).hexdigest()}||".encode()).decode()
            if self.args.bfid is not None:
                bfid = self.args.bfid
            out = []
            kept = []
            for v in values:
                if v.get("name") not in fields or not isinstance(v.get("value"), str):
                    return self.failure(request, 1005, "Unknown field")
                token = v["value"] if self.args.token_is_value else self.token(v["name"], v["value"])
                out.append({"name": v["name"], "value": token})
                kept.append((v["name"], token, v["value"]))
            self.tokens[bfid] = kept
            if payload.get("store"):
                self.stored.add(bfid)
            now = time.monotonic()
            self.counters["tokenize_ok"] += 1
            if not self.counters["first_ok"]:
                self.counters["first_ok"] = now
            self.counters["last_ok"] = now
            result = {"bfid": bfid}
            if not payload.get("omit"):
                result["values"] = out
            return self.answer(request, message_id, True, result)
        bfid = payload.get("bfid")
        if action == "tokenization-read":
            if bfid not in self.stored:
                return self.failure(request, 1203, "Not found")
            self.stored.discard(bfid)
            values = [{"name": n, "value": t} for (n, t, _) in self.tokens[bfid]]
            return self.answer(request, self.message_id(), True, {"bfid": bfid, "values": values})
        kept = self.tokens.get(bfid)
        if kept is None:
            return self.failure(request, 1203, "Not found")
        plain = []
        for v in payload.get("values") or []:
            match = next((value for (n, t, value) in kept if n == v.get("name") and t == v.get("value")), None)
            if match is None:
                return self.failure(request, 1006, "Invalid value")
            plain.append({"name": v["name"], "value": match})
        # The spec's own sample detokenize answer spells the key "succes".
        return self.answer(request, self.message_id(), True, {"values": plain}, spelling="succes")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", action="append", default=[])
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--rate-limit", type=float, default=0)
    parser.add_argument("--refuse-repeated-fields", action="store_true")
    parser.add_argument("--refuse-handshakes", type=int, default=0)
    parser.add_argument("--refuse-status", type=int, default=503)
    parser.add_argument("--retry-after", type=str, default=None)
    parser.add_argument("--reset-at", type=str, default="")
    # A hostile peer (the second audit): echoes the Authorization header in its 401 refusal,
    # answers a fatal error that quotes the request's values, answers each value as its own
    # token, or answers a bfid of its choosing.
    parser.add_argument("--echo-authorization", action="store_true")
    parser.add_argument("--fatal-echo", action="store_true")
    parser.add_argument("--token-is-value", action="store_true")
    parser.add_argument("--bfid", type=str, default=None)
    parser.add_argument("--stall-at", type=str, default="")
    args = parser.parse_args()
    reset_at = {int(n) for n in args.reset_at.split(",") if n}
    stall_at = {int(n) for n in args.stall_at.split(",") if n}
    # A parent may start us with these blocked (Foundation's Process does); we stop on them.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    service = Service(args)

    def process_request(connection, request):
        service.counters["handshakes"] += 1
        if service.refusals_left > 0:
            service.refusals_left -= 1
            service.counters["handshakes_refused"] += 1
            status = http.HTTPStatus(args.refuse_status)
            headers = Headers([("Content-Type", "text/plain")])
            if args.retry_after is not None:
                headers["Retry-After"] = args.retry_after
            body = f"{status.value} {status.phrase}\n".encode()
            headers["Content-Length"] = str(len(body))
            return Response(status.value, status.phrase, headers, body)
        authorization = request.headers.get("Authorization", "")
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "basic" or key.strip() not in service.keys:
            service.counters["handshakes_refused"] += 1
            message = "Unauthorized: " + authorization if args.echo_authorization else "Authentication Error"
            body = json.dumps({"success": False, "code": 8003, "message": message}).encode()
            headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return Response(401, "Unauthorized", headers, body)
        return None

    async def respond(websocket, request):
        if args.latency_ms:
            await asyncio.sleep(args.latency_ms / 1000)
        reply = service.handle(request)
        try:
            await websocket.send(json.dumps(reply))
        except Exception:
            pass

    async def connection(websocket):
        pending = set()
        async for message in websocket:
            service.received += 1
            if service.received in reset_at:
                service.counters["reset"] += 1
                # SO_LINGER 0: close() sends a RST, not a FIN; nothing more is read or answered.
                websocket.transport.get_extra_info("socket").setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                websocket.transport.abort()
                return
            if service.received in stall_at:
                service.counters["stalled"] += 1
                # Half-open: no more reads, no answers, no close, until the client gives up on it.
                websocket.transport.pause_reading()
                await websocket.wait_closed()
                return
            try:
                request = json.loads(message)
            except ValueError:
                await websocket.send(json.dumps({"success": False, "payload": {"errorCode": 1001, "message": "Malformed message"}}))
                continue
            if args.latency_ms:
                task = asyncio.ensure_future(respond(websocket, request))
                pending.add(task)
                task.add_done_callback(pending.discard)
            else:
                await websocket.send(json.dumps(service.handle(request)))

    async def run():
        stop = asyncio.get_running_loop().create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
        async with serve(connection, "127.0.0.1", args.port, process_request=process_request) as server:
            port = server.sockets[0].getsockname()[1]
            print(f"listening on ws://127.0.0.1:{port}", flush=True)
            await stop
        counters = dict(service.counters)
        span = counters.pop("last_ok") - counters.pop("first_ok")
        counters["tokenize_ok_per_second"] = round(counters["tokenize_ok"] / span, 1) if span > 0 else 0
        for name, value in counters.items():
            print(f"{name} {value}", flush=True)

    asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
