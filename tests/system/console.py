"""console.py - one machine under test on a pseudo-terminal, and its output split per VM.

The system-test harness (run.py) starts the machine's program (QEMU, `duovisor run`,
`duovisor type1`) with stdin/stdout/stderr on the slave side of a pty it owns, reads the
master side with select(), and hands every byte to a Demux. With several VMs the program
prefixes each output line with "[name] " (docs/cli.md); the Demux strips the prefix and
appends the rest to that VM's Stream. Lines without a known prefix go to the "host"
stream (duovisor's own messages) - or, with a single VM, to that VM.

Output is normalised as it is read (CRs and ANSI escape sequences dropped), and a
Stream is that text with a read cursor:
expect() searches from the cursor, and a match moves the cursor past it, the way an
expect script consumes output. Python 3 stdlib only.
"""

import errno
import os
import pty
import re
import select
import signal
import subprocess
import time
import tty

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>78]")


class Timeout(Exception):
    """An expect() ran out of time; the message says what it waited for."""


class Stream:
    """The output of one VM (or of the host), with a cursor for expect()."""

    def __init__(self, name):
        self.name = name
        self.text = ""
        self.pos = 0
        self.lines_seen = 0

    def append(self, s):
        self.text += s
        self.lines_seen += s.count("\n")

    def search(self, regex):
        m = regex.search(self.text, self.pos)
        if m:
            self.pos = m.end()
        return m

    def tail(self, n):
        return self.text.splitlines()[-n:]


class Demux:
    """Routes a byte stream with "[name] " line prefixes to per-VM Streams."""

    def __init__(self, names, default):
        self.prefixes = {"[%s] " % n: n for n in names}
        self.default = default
        self.at_bol = True
        self.pending = ""
        self.target = default

    def feed(self, text, streams, log):
        i = 0
        while i < len(text):
            if self.at_bol:
                self.pending += text[i]
                i += 1
                p = self.pending
                if p in self.prefixes:
                    self.target = self.prefixes[p]
                elif not any(k.startswith(p) for k in self.prefixes):
                    self.target = self.default
                    self._emit(p, streams, log)
                else:
                    continue  # still could be a prefix: need more bytes
                self.pending = ""
                self.at_bol = p.endswith("\n")
                continue
            j = text.find("\n", i)
            end = len(text) if j < 0 else j + 1
            self._emit(text[i:end], streams, log)
            i = end
            if j >= 0:
                self.at_bol = True

    def _emit(self, s, streams, log):
        streams[self.target].append(s)
        log.append((self.target, s))


class Transcript:
    """All output in arrival order, one "[stream] " tag per line when there are several
    VMs, written through to the log file and kept for the failure report."""

    def __init__(self, logfile, tagged):
        self.logfile = logfile
        self.tagged = tagged
        self.col0 = True
        self.last = None
        self.lines = []
        self.current = ""

    def write(self, stream, s):
        for piece in s.splitlines(True):
            if self.tagged and (self.col0 or stream != self.last):
                if not self.col0:
                    self._put("\n")
                self._put("[%s] " % stream)
            self._put(piece)
            self.last = stream

    def _put(self, s):
        self.logfile.write(s)
        self.col0 = s.endswith("\n")
        self.current += s
        if self.col0:
            self.lines.append(self.current[:-1])
            self.current = ""
            del self.lines[:-200]

    def tail(self, n):
        return (self.lines + ([self.current] if self.current else []))[-n:]


class Console:
    """A running machine: its process, its pty and the streams of its VMs."""

    def __init__(self, argv, vm_names, logfile, echo=False, cwd=None):
        self.argv = argv
        self.names = list(vm_names)
        multi = len(self.names) > 1
        self.streams = {n: Stream(n) for n in self.names}
        self.streams["host"] = Stream("host")
        self.demux = Demux(self.names if multi else [],
                           "host" if multi else self.names[0])
        self.log = []  # (stream, text) in arrival order
        self.logfile = open(logfile, "w", encoding="utf-8", errors="replace")
        self.logfile.write("$ %s\n" % " ".join(argv))
        self.transcript = Transcript(self.logfile, multi)
        self.echo = echo
        self.eof = False
        self.returncode = None
        master, slave = pty.openpty()
        tty.setraw(slave)
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                     cwd=cwd, start_new_session=True, close_fds=True)
        os.close(slave)
        self.master = master
        self.decoder_tail = b""

    # ---- reading -------------------------------------------------------------------
    def pump(self, timeout):
        """Read what the machine printed within `timeout` seconds (at least one poll)."""
        if self.eof:
            self.poll_exit()
            if timeout > 0:
                time.sleep(min(timeout, 0.05))
            return
        r, _, _ = select.select([self.master], [], [], max(0.0, timeout))
        if not r:
            self.poll_exit()
            return
        try:
            data = os.read(self.master, 65536)
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            data = b""
        if not data:
            self.eof = True
            self.poll_exit()
            return
        data = self.decoder_tail + data
        # keep an incomplete UTF-8 sequence for the next read
        cut = len(data)
        for k in range(1, min(4, len(data)) + 1):
            b = data[-k]
            if b & 0xC0 == 0xC0:
                need = 2 if b & 0xE0 == 0xC0 else 3 if b & 0xF0 == 0xE0 else 4
                if need > k:
                    cut = len(data) - k
                break
            if b & 0x80 == 0:
                break
        self.decoder_tail = data[cut:]
        text = ANSI.sub("", data[:cut].decode("utf-8", errors="replace").replace("\r", ""))
        start = len(self.log)
        self.demux.feed(text, self.streams, self.log)
        for stream, s in self.log[start:]:
            self.transcript.write(stream, s)
            if self.echo:
                print(s, end="", flush=True)
        self.logfile.flush()

    def poll_exit(self):
        if self.returncode is None:
            self.returncode = self.proc.poll()
        return self.returncode

    def stream(self, vm):
        return self.streams[vm if vm is not None else self.names[0]]

    def expect(self, pattern, vm=None, timeout=30.0, flags=re.M):
        """Wait until `pattern` appears in vm's output after the cursor; returns the match."""
        regex = re.compile(pattern, flags) if isinstance(pattern, str) else pattern
        st = self.stream(vm)
        deadline = time.monotonic() + timeout
        while True:
            m = st.search(regex)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("timed out after %.0f s waiting for /%s/ on %s" %
                              (timeout, regex.pattern, st.name))
            if self.eof and self.poll_exit() is not None:
                self.drain()
                m = st.search(regex)
                if m:
                    return m
                raise Timeout("machine exited (status %s) while waiting for /%s/ on %s"
                              % (self.returncode, regex.pattern, st.name))
            self.pump(min(left, 0.5))

    def drain(self):
        """Read whatever is still buffered in the pty."""
        while not self.eof:
            r, _, _ = select.select([self.master], [], [], 0)
            if not r:
                break
            self.pump(0)

    # ---- writing -------------------------------------------------------------------
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        if not self.transcript.col0:
            self.logfile.write("\n")
        self.logfile.write("<<< %r\n" % data)
        self.transcript.col0 = True
        try:
            os.write(self.master, data)
        except OSError:
            pass  # the machine is gone; the next expect reports it

    # ---- ending --------------------------------------------------------------------
    def wait_exit(self, timeout):
        """Wait for the program to exit on its own; returns its status or None."""
        deadline = time.monotonic() + timeout
        while self.poll_exit() is None and time.monotonic() < deadline:
            self.pump(min(0.2, max(0.0, deadline - time.monotonic())))
        self.drain()
        return self.poll_exit()

    def alive(self):
        self.pump(0)
        return self.poll_exit() is None

    def close(self):
        """Stop the program and everything it started (its own process group)."""
        if self.poll_exit() is None:
            for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            self.poll_exit()
        else:
            # the program exited; make sure nothing it started lingers in its group
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.drain()
        try:
            os.close(self.master)
        except OSError:
            pass
        self.logfile.write("\n[exit status %s]\n" % self.returncode)
        self.logfile.close()

    def tail(self, n=40):
        """The last n lines of all output, VM-tagged when there are several VMs."""
        return self.transcript.tail(n)
