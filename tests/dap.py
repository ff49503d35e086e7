"""A small Debug Adapter Protocol client: drives debugpy (VS Code's Python debugger) the
way the editor does, so that tests can check where a launch configuration stops.

    with DebugSession(["examples/step_through_backprop.py"], cwd=ROOT) as session:
        session.start(breakpoints={path: [line]}, just_my_code=False)
        frame = session.wait_stopped()     # {'path': ..., 'line': ..., 'name': ...}
        session.step_in(); session.resume()
"""

import json
import socket
import subprocess
import sys
import time


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DebugSession:
    def __init__(self, argv, cwd, env=None, timeout=30.0):
        self.port = _free_port()
        self.timeout = timeout
        self.process = subprocess.Popen(
            [sys.executable, "-m", "debugpy", "--listen", f"127.0.0.1:{self.port}",
             "--wait-for-client", *argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.sock = self._connect()
        self.buffer = b""
        self.seq = 0
        self.events = []
        self.thread_id = None
        self.printed = ""

    def _connect(self):
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.1)

    # ---- the wire: Content-Length framed JSON --------------------------------------------

    def send(self, command, **arguments) -> int:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command,
                           "arguments": arguments}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def _read(self) -> dict:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        length = int(head.split(b":")[1])
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return json.loads(body)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the debug adapter closed the connection")
        self.buffer += chunk

    def request(self, command, **arguments) -> dict:
        seq = self.send(command, **arguments)
        return self.response(seq)

    def response(self, seq) -> dict:
        while True:
            message = self._read()
            if message["type"] == "response" and message["request_seq"] == seq:
                if not message.get("success"):
                    raise RuntimeError(f"{message['command']}: {message.get('message')}")
                return message
            if message["type"] == "event":
                self.events.append(message)

    def wait_event(self, name) -> dict:
        for i, event in enumerate(self.events):
            if event["event"] == name:
                return self.events.pop(i)
        while True:
            try:
                message = self._read()
            except TimeoutError:
                seen = [e["event"] + (f" ({e['body'].get('reason')})" if e["event"] ==
                                      "stopped" else "") for e in self.events]
                raise TimeoutError(f"no {name!r} event within {self.timeout:g} s; events "
                                   f"so far: {seen}") from None
            if message["type"] == "event" and message["event"] == name:
                return message
            if message["type"] == "event":
                self.events.append(message)

    # ---- what the editor does --------------------------------------------------------------

    def start(self, breakpoints=None, just_my_code=False):
        """initialize, attach, set breakpoints ({path: [line, ...]}), configurationDone."""
        self.request("initialize", clientID="tests", adapterID="debugpy",
                     pathFormat="path", linesStartAt1=True, columnsStartAt1=True)
        attach = self.send("attach", justMyCode=just_my_code,
                           connect={"host": "127.0.0.1", "port": self.port})
        self.wait_event("initialized")
        for path, lines in (breakpoints or {}).items():
            self.request("setBreakpoints", source={"path": str(path)},
                         breakpoints=[{"line": line} for line in lines])
        self.request("configurationDone")
        self.response(attach)

    def wait_stopped(self) -> dict:
        """The top frame where the program stopped: {'path', 'line', 'name'}."""
        event = self.wait_event("stopped")
        self.thread_id = event["body"]["threadId"]
        frames = self.request("stackTrace", threadId=self.thread_id)["body"]["stackFrames"]
        top = frames[0]
        return {"path": top["source"].get("path", ""), "line": top["line"],
                "name": top["name"], "reason": event["body"].get("reason")}

    def clear_breakpoints(self, path):
        self.request("setBreakpoints", source={"path": str(path)}, breakpoints=[])

    def step_in(self):
        self.request("stepIn", threadId=self.thread_id)

    def resume(self):
        self.request("continue", threadId=self.thread_id)

    def output(self) -> str:
        """What the program printed (after the session ended)."""
        return self.printed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.sock.close()
        finally:
            try:
                self.printed = self.process.communicate(timeout=self.timeout)[0]
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.printed = self.process.communicate()[0]
        return False
