"""console.py - one machine under test on a pseudo-terminal, and its output split per VM.

The system-test harness (run.py) starts the machine's program (QEMU, `duovisor run`,
`duovisor type1`) with stdin/stdout/stderr on the slave side of a pty it owns, reads the
master side with select(), and hands every byte to a Demux. With several VMs the program
prefixes each output line with "[name] " (docs/cli.md); the Demux strips the prefix and
appends the rest to that VM's Stream (type 1 tags a single VM's lines too). Lines
without a VM's prefix go to the "host" stream (duovisor's own messages) - or, with a
single VM, to that VM.

Output is normalised as it is read (CRs and ANSI escape sequences dropped), and a
Stream is that text with a read cursor:
expect() searches from the cursor, and a match moves the cursor past it, the way an
expect script consumes output. Python 3 stdlib only.
"""

import codecs
import errno
import os
import pty
import re
import select
import shutil
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
            if not self.col0 and stream != self.last:
                self._put("\n")
            if self.tagged and self.col0:
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
    """A running machine: its process, its pty (stdin/stdout), its stderr pipe and
    the streams of its VMs."""

    def __init__(self, argv, vm_names, logfile, echo=False, cwd=None):
        self.argv = argv
        self.names = list(vm_names)
        multi = len(self.names) > 1
        self.streams = {n: Stream(n) for n in self.names}
        self.streams["host"] = Stream("host")
        # type 1 tags even a single VM's lines; unknown tags ("[duovisor] ") stay in the
        # text and go to the default stream: "host", or the only VM
        self.demux = Demux(self.names, "host" if multi else self.names[0])
        self.log = []  # (stream, text) in arrival order
        self.logfile = open(logfile, "w", encoding="utf-8", errors="replace")
        self.logfile.write("$ %s\n" % " ".join(argv))
        self.transcript = Transcript(self.logfile, multi)
        self.echo = echo
        self.eof = False  # the pty (stdout) is closed
        self.returncode = None
        master, slave = pty.openpty()
        tty.setraw(slave)
        # stderr gets its own pipe: the program's messages (duovisor: ...) then never land
        # inside a guest's half-written line, and always go to the "host" stream.
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                                     cwd=cwd, start_new_session=True, close_fds=True)
        os.close(slave)
        self.master = master
        self.err = self.proc.stderr.fileno()
        self.out_dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.err_dec = codecs.getincrementaldecoder("utf-8")(errors="replace")

    # ---- reading -------------------------------------------------------------------
    def pump(self, timeout):
        """Read what the machine printed within `timeout` seconds (at least one poll)."""
        fds = [fd for fd in (None if self.eof else self.master, self.err) if fd is not None]
        if not fds:
            self.poll_exit()
            if timeout > 0:
                time.sleep(min(timeout, 0.05))
            return
        r, _, _ = select.select(fds, [], [], max(0.0, timeout))
        if not r:
            self.poll_exit()
            return
        for fd in r:
            try:
                data = os.read(fd, 65536)
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                data = b""
            if fd == self.err:
                if not data:
                    self.err = None
                    continue
                self._take(self.err_dec.decode(data), err=True)
            else:
                if not data:
                    self.eof = True
                    continue
                self._take(self.out_dec.decode(data), err=False)
        self.poll_exit()

    def _take(self, text, err):
        text = ANSI.sub("", text.replace("\r", ""))
        start = len(self.log)
        if err:
            self.streams["host"].append(text)
            self.log.append(("host", text))
        else:
            self.demux.feed(text, self.streams, self.log)
        for stream, s in self.log[start:]:
            self.transcript.write(stream, s)
            if self.echo:
                print(s, end="", flush=True)
        self.logfile.flush()
        del self.log[:-1000]

    def poll_exit(self):
        if self.returncode is None:
            self.returncode = self.proc.poll()
        return self.returncode

    def stopped_for_good(self, name):
        """The line with which the hypervisor stopped VM `name` after a crash or an
        isolation violation (type 2 and type 1 wording), if no restart or reboot of it
        came after; else None. An expect on such a VM fails at once instead of waiting."""
        if name == "host":
            return None
        n = re.escape(name)
        dead = re.compile(r"^duovisor: \[%s\] crashed.*$|^\[duovisor\] %s: error: stopping.*$"
                          % (n, n), re.M)
        back = re.compile(r"^duovisor: \[%s\] rebooting|^\[duovisor\] %s: (re)?start" % (n, n),
                          re.M)
        for stream in (self.streams["host"], self.streams[name]):
            # only the recent output: a VM stopped for good prints nothing after its end
            text = stream.text[-65536:]
            last = None
            for m in dead.finditer(text):
                last = m
            if last and not back.search(text, last.end()):
                return last.group(0).strip()
        return None

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
            why = self.stopped_for_good(st.name)
            if why:
                # its last words may still be on the way (stdout and stderr are two pipes)
                end = time.monotonic() + 1.0
                while time.monotonic() < end:
                    self.pump(0.2)
                    m = st.search(regex)
                    if m:
                        return m
                raise Timeout("%s stopped (\"%s\") while waiting for /%s/ on it"
                              % (st.name, why, regex.pattern))
            if self.eof and self.poll_exit() is not None:
                self.drain()
                m = st.search(regex)
                if m:
                    return m
                raise Timeout("machine exited (status %s) while waiting for /%s/ on %s"
                              % (self.returncode, regex.pattern, st.name))
            self.pump(min(left, 0.5))

    def drain(self):
        """Read whatever is still buffered in the pty and the stderr pipe."""
        while not self.eof or self.err is not None:
            fds = [fd for fd in (None if self.eof else self.master, self.err) if fd is not None]
            r, _, _ = select.select(fds, [], [], 0)
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

    # ---- diagnosis -----------------------------------------------------------------
    def diagnose(self, status_signal=None):
        """A machine that stopped answering: ask it for a status report (status_signal,
        e.g. SIGUSR1 for duovisor type 2), then, if gdb is installed, log every thread's
        backtrace. Returns a few lines for the failure report."""
        if self.poll_exit() is not None:
            return []
        out = []
        if status_signal is not None:
            before = len(self.streams["host"].text)
            try:
                os.kill(self.proc.pid, status_signal)
            except ProcessLookupError:
                return []
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                self.pump(0.2)
            got = self.streams["host"].text[before:].strip()
            out += got.splitlines()[-12:] if got else ["no status report within 2 s (main loop hung?)"]
        gdb = shutil.which("gdb")
        if gdb and self.poll_exit() is None:
            try:
                p = subprocess.run([gdb, "-p", str(self.proc.pid), "-batch", "-nx",
                                    "-ex", "thread apply all bt 12"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   timeout=90)
                bt = p.stdout.decode(errors="replace")
            except (OSError, subprocess.SubprocessError) as e:
                bt = "gdb failed: %s" % e
            self.logfile.write("\n==== gdb: thread apply all bt ====\n%s\n==== end gdb ====\n" % bt)
            self.logfile.flush()
            # the innermost frame of each thread
            tops = [l for l in bt.splitlines() if l.startswith("#0")]
            out += ["gdb: %d thread(s); innermost frames:" % len(tops)] + tops[:12]
        return out

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
        """Stop the program, if still running, with everything it started (its own
        process group: SIGTERM, then SIGKILL after 5 s)."""
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
        # Once the program has exited by itself it is not signalled again: its process
        # group id may already belong to someone else.
        self.drain()
        try:
            os.close(self.master)
        except OSError:
            pass
        self.proc.stderr.close()
        self.logfile.write("\n[exit status %s]\n" % self.returncode)
        self.logfile.close()

    def tail(self, n=40):
        """The last n lines of all output, VM-tagged when there are several VMs."""
        return self.transcript.tail(n)
