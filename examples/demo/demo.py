#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The libsippresence demo (./run-demo): sippres-mini-ua as a notifier on
127.0.0.1 with examples/extensions.conf and examples/pjsip.conf, subscribers
started with `sippres-mini-ua subscribe`, and the scripted timeline of
examples/demo/timeline.txt fed to the notifier's standard input. Every
NOTIFY a subscriber receives is printed as it arrives: a one-line summary
(made here from the XML), then its body.

usage: demo.py --ua build/examples/sippres-mini-ua [--examples DIR] [--timeline FILE]
               [--speed X] [--brief] [--color auto|always|never]
Exit status 0 when everything the timeline expects happened, 1 otherwise
(with the reason), 2 for a bad command line. Stops by itself: every wait is
bounded and the whole run must end within --limit seconds (default 55)."""

import argparse
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
NS = {
    'di': 'urn:ietf:params:xml:ns:dialog-info',
    'p': 'urn:ietf:params:xml:ns:pidf',
    'rpid': 'urn:ietf:params:xml:ns:pidf:rpid',
    'dm': 'urn:ietf:params:xml:ns:pidf:data-model',
    'rlmi': 'urn:ietf:params:xml:ns:rlmi',
}
WAIT = 5.0  # seconds for any one thing the timeline waits for


class DemoFailed(Exception):
    pass


# ---- output ---------------------------------------------------------------------------------------

class Out:
    """Everything the demo prints, from several threads, one line at a time."""

    def __init__(self, color):
        self.lock = threading.Lock()
        self.color = color
        self.t0 = time.monotonic()

    def paint(self, code, text):
        return '\x1b[%sm%s\x1b[0m' % (code, text) if self.color else text

    def stamp(self):
        return '[%5.1fs]' % (time.monotonic() - self.t0)

    def lines(self, lines):
        with self.lock:
            for line in lines:
                print(line)
            sys.stdout.flush()

    def say(self, text):
        self.lines(['', self.paint('1', '%s %s' % (self.stamp(), text))])

    def command(self, text):
        self.lines([self.paint('36', '%s   > %s' % (self.stamp(), text))])

    def note(self, text):
        self.lines([self.paint('2', '%s     %s' % (self.stamp(), text))])


# ---- summaries of bodies ---------------------------------------------------------------------------

def user_of(uri):
    m = re.match(r'\s*sips?:([^@;>]+)@', uri or '')
    return m.group(1) if m else (uri or '?')


def party(identity):
    if identity is None:
        return None
    who = (identity.text or '').strip()
    display = identity.get('display')
    return '"%s" <%s>' % (display, who) if display else '<%s>' % who


def summarize_dialog_info(text):
    root = ET.fromstring(text)
    head = 'dialog-info v%s %s: ' % (root.get('version', '?'), user_of(root.get('entity')))
    dialogs = root.findall('di:dialog', NS)
    if not dialogs:
        return head + 'idle'
    out = []
    for d in dialogs:
        state = d.findtext('di:state', '', NS)
        direction = d.get('direction')
        held = any(p.get('pname') == '+sip.rendering' and p.get('pval') == 'no'
                   for p in d.iterfind('di:local/di:target/di:param', NS))
        remote = party(d.find('di:remote/di:identity', NS))
        if state == 'early':
            desc = 'ringing' if direction == 'recipient' else 'calling' if direction == 'initiator' else 'early'
        elif state == 'confirmed':
            desc = 'on hold' if held else 'in a call'
        elif state == 'terminated':
            desc = 'call ended'
        else:
            desc = state or '?'
        if state and state not in desc:
            desc += ' (%s)' % state
        if remote:
            desc += (', call from ' if direction == 'recipient' else ', with ') + remote
        out.append(desc)
    return head + '; '.join(out)


def summarize_pidf(text):
    root = ET.fromstring(text)
    basic = root.findtext('p:tuple/p:status/p:basic', '?', NS)
    note = root.findtext('p:note', None, NS) or root.findtext('p:tuple/p:note', None, NS)
    acts = []
    for a in root.iterfind('.//rpid:activities/*', NS):
        name = a.tag.split('}')[-1]
        acts.append('%s: %s' % (name, a.text.strip()) if a.text and a.text.strip() else name)
    said = root.findtext('dm:person/dm:note', None, NS)
    s = 'pidf %s: %s' % (user_of(root.get('entity')), basic)
    if note:
        s += ' "%s"' % note
    if acts:
        s += ' [%s]' % ', '.join(acts)
    if said:
        s += ', message "%s"' % said
    return s


def summarize(ctype, text):
    try:
        if ctype.startswith('application/dialog-info+xml'):
            return summarize_dialog_info(text)
        if ctype.startswith('application/pidf+xml'):
            return summarize_pidf(text)
    except ET.ParseError as e:
        return '(%s that does not parse: %s)' % (ctype, e)
    return ctype or '(no body)'


# ---- subscribers -----------------------------------------------------------------------------------

class Notify:
    def __init__(self, number):
        self.number = number
        self.start = None
        self.headers = {}
        self.body_lines = []
        self.in_body = False

    @property
    def body(self):
        return '\n'.join(self.body_lines)

    def parts(self):
        """[(label, content type, content-id, text)] of a printed multipart body."""
        parts = []
        for line in self.body_lines:
            m = re.match(r'--- part (\S+) of \d+: Content-Type: (.*?)(?:, Content-ID: <([^>]*)>)?$', line)
            if m:
                parts.append([m.group(1), m.group(2), m.group(3), []])
            elif parts:
                parts[-1][3].append(line)
        return [(a, b, c, '\n'.join(d)) for a, b, c, d in parts]


class Child:
    """A child process (self.proc) whose standard error lines are collected in self.err."""

    def tail(self):
        return ('\n  its log:\n    ' + '\n    '.join(self.err[-8:])) if self.err else ''

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


class Watcher(Child):
    """One `sippres-mini-ua subscribe` child: its output parsed, summarized, printed; NOTIFYs queued."""

    def __init__(self, out, name, argv, brief):
        self.out = out
        self.name = name
        self.brief = brief
        self.notifies = queue.Queue()
        self.count = 0
        self.err = []
        self.ended = threading.Event()
        self.final = None
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_err(self):
        for raw in self.proc.stderr:
            self.err.append(raw.decode('utf-8', 'replace').rstrip('\n'))

    def _read_out(self):
        cur = None
        try:
            for raw in self.proc.stdout:
                line = raw.decode('utf-8', 'replace').rstrip('\n')
                if cur is None:
                    m = re.match(r'=== NOTIFY (\d+) ', line)
                    if m:
                        cur = Notify(int(m.group(1)))
                    elif line.startswith('=== '):
                        self.out.note('%-6s %s' % (self.name, line[4:]))
                    continue
                if line.startswith('=== end of NOTIFY'):
                    self.count += 1
                    self.show(cur)
                    if (cur.headers.get('subscription-state') or '').startswith('terminated'):
                        self.final = cur
                    self.notifies.put(cur)
                    cur = None
                elif cur.start is None:
                    cur.start = line
                elif not cur.in_body:
                    if line == '':
                        cur.in_body = True
                    else:
                        k, _, v = line.partition(': ')
                        cur.headers[k.lower()] = v
                else:
                    cur.body_lines.append(line)
        finally:
            self.ended.set()

    def show(self, n):
        ctype = n.headers.get('content-type', '')
        state = n.headers.get('subscription-state', '')
        head = '%s %-6s NOTIFY %d ' % (self.out.stamp(), self.name, n.number)
        indent = ' ' * 11
        lines = []
        if ctype.startswith('multipart/'):
            parts = n.parts()
            members = {}
            rlmi = None
            for label, pct, cid, text in parts:
                if pct.startswith('application/rlmi+xml'):
                    try:
                        rlmi = ET.fromstring(text)
                    except ET.ParseError:
                        rlmi = None
            if rlmi is not None:
                for r in rlmi.iterfind('rlmi:resource', NS):
                    inst = r.find('rlmi:instance', NS)
                    members[inst.get('cid') if inst is not None else None] = (
                        r.findtext('rlmi:name', user_of(r.get('uri')), NS),
                        inst.get('state') if inst is not None else '?')
                lines.append(self.out.paint('32', head + 'list %s v%s, %s, %d member(s)  [%s]' % (
                    user_of(rlmi.get('uri')), rlmi.get('version', '?'),
                    'full state' if rlmi.get('fullState') == 'true' else 'partial', len(members), state)))
            else:
                lines.append(self.out.paint('32', head + '%s  [%s]' % (ctype, state)))
            for label, pct, cid, text in parts:
                if pct.startswith('application/rlmi+xml'):
                    continue
                name, inst = members.get(cid, ('?', '?'))
                extra = '' if inst == 'active' else ' (%s)' % inst
                lines.append(self.out.paint('32', '%s- %s%s: %s' % (indent, name, extra, summarize(pct, text))))
                if not self.brief:
                    lines += [self.out.paint('2', indent + '    ' + l) for l in text.splitlines()]
        else:
            lines.append(self.out.paint('32', head + '%s  [%s]' % (summarize(ctype, n.body), state)))
            if not self.brief:
                lines += [self.out.paint('2', indent + l) for l in n.body_lines]
        self.out.lines(lines)

    def expect(self, regex, what):
        """The next NOTIFYs until one whose body matches regex."""
        deadline = time.monotonic() + WAIT
        seen = []
        while True:
            left = deadline - time.monotonic()
            try:
                n = self.notifies.get(timeout=max(0.01, left))
            except queue.Empty:
                raise DemoFailed('%s: no NOTIFY %s within %.0f s (saw %d other NOTIFYs)%s'
                                 % (self.name, what, WAIT, len(seen), self.tail()))
            seen.append(n)
            if re.search(regex, n.body):
                return n

    def stop(self):
        """SIGINT: un-SUBSCRIBE, the final NOTIFY, exit 0."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            rc = self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            raise DemoFailed('%s: did not end within %.0f s after SIGINT%s' % (self.name, WAIT, self.tail()))
        self.ended.wait(WAIT)
        if rc != 0:
            raise DemoFailed('%s: exit status %d%s' % (self.name, rc, self.tail()))
        if self.final is None:
            raise DemoFailed('%s: ended without a final NOTIFY (Subscription-State: terminated)%s'
                             % (self.name, self.tail()))


# ---- the notifier -------------------------------------------------------------------------------------

class Notifier(Child):
    def __init__(self, ua, examples):
        argv = [ua, '--listen', '127.0.0.1:0', '--extensions', os.path.join(examples, 'extensions.conf'),
                '--pjsip', os.path.join(examples, 'pjsip.conf')]
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.replies = queue.Queue()
        self.err = []
        self.addr = None
        ready = threading.Event()

        def read_err():
            for raw in self.proc.stderr:
                line = raw.decode('utf-8', 'replace').rstrip('\n')
                self.err.append(line)
                m = re.search(r'listening on udp (127\.0\.0\.1:\d+) ', line)
                if m:
                    self.addr = m.group(1)
                    ready.set()
            ready.set()

        def read_out():
            for raw in self.proc.stdout:
                self.replies.put(raw.decode('utf-8', 'replace').rstrip('\n'))
            self.replies.put(None)

        threading.Thread(target=read_err, daemon=True).start()
        threading.Thread(target=read_out, daemon=True).start()
        ready.wait(WAIT)
        if not self.addr:
            self.kill()
            raise DemoFailed('the notifier did not start:%s' % self.tail())

    def command(self, line):
        """Send one control line; its output lines (before OK); DemoFailed on ERR."""
        try:
            self.proc.stdin.write((line + '\n').encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise DemoFailed('the notifier is gone (%r)%s' % (line, self.tail()))
        lines = []
        deadline = time.monotonic() + WAIT
        while True:
            try:
                reply = self.replies.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise DemoFailed('the notifier did not answer %r within %.0f s%s' % (line, WAIT, self.tail()))
            if reply is None:
                raise DemoFailed('the notifier stopped during %r%s' % (line, self.tail()))
            if reply == 'OK':
                return lines
            if reply.startswith('ERR'):
                raise DemoFailed('the notifier refused %r: %s' % (line, reply))
            lines.append(reply)

    def quit(self):
        self.command('quit')
        try:
            rc = self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            raise DemoFailed('the notifier did not stop after quit%s' % self.tail())
        if rc != 0:
            raise DemoFailed('the notifier exited with status %d%s' % (rc, self.tail()))



# ---- the timeline ------------------------------------------------------------------------------------

def run(args, out):
    with open(args.timeline, encoding='utf-8') as f:
        steps = [(i, l.strip()) for i, l in enumerate(f, 1) if l.strip() and not l.lstrip().startswith('#')]
    rel = os.path.relpath(args.examples)
    out.say('libsippresence demo: the mini UA as a notifier, with %s/extensions.conf and %s/pjsip.conf'
            % (rel, rel))
    notifier = Notifier(args.ua, args.examples)
    watchers = {}
    try:
        out.note('%s --listen 127.0.0.1:0 ...  (listening on udp %s)' % (os.path.basename(args.ua), notifier.addr))
        for lineno, line in steps:
            if time.monotonic() - out.t0 > args.limit:
                raise DemoFailed('the demo ran past %d s' % args.limit)
            word, _, rest = line.partition(' ')
            where = '%s:%d' % (os.path.basename(args.timeline), lineno)
            if word == 'say':
                out.say(rest)
            elif word == 'pause':
                time.sleep(float(rest) / args.speed)
            elif word == 'watch':
                w = shlex.split(rest)
                if len(w) < 2 or w[0] in watchers:
                    raise DemoFailed('%s: watch NAME EXTEN ARGS...' % where)
                uri = 'sip:%s@%s' % (w[1], notifier.addr)
                argv = [args.ua, 'subscribe', uri] + w[2:]
                out.command('%s subscribe %s %s' % (os.path.basename(args.ua), uri, ' '.join(w[2:])))
                watchers[w[0]] = Watcher(out, w[0], argv, args.brief)
                watchers[w[0]].expect(r'', 'at all (the first one, with the state)')
            elif word == 'expect':
                name, _, regex = rest.partition(' ')
                if name not in watchers:
                    raise DemoFailed('%s: no watcher %r' % (where, name))
                watchers[name].expect(regex, 'matching /%s/ (%s)' % (regex, where))
            elif word == 'stop':
                if rest not in watchers:
                    raise DemoFailed('%s: no watcher %r' % (where, rest))
                out.command('SIGINT to %s: it unsubscribes' % rest)
                watchers[rest].stop()
            else:
                out.command(line)
                for l in notifier.command(line):
                    out.note(l)
        for name, w in watchers.items():
            if w.proc.poll() is None:
                out.command('SIGINT to %s: it unsubscribes' % name)
                w.stop()
        out.command('quit')
        notifier.quit()
        total = sum(w.count for w in watchers.values())
        out.say('demo finished in %.1f s: %d NOTIFYs to %d subscribers, each one expected arrived'
                % (time.monotonic() - out.t0, total, len(watchers)))
        return 0
    finally:
        for w in watchers.values():
            w.kill()
        notifier.kill()


def main():
    p = argparse.ArgumentParser(description='the libsippresence demo')
    p.add_argument('--ua', required=True, help='the sippres-mini-ua binary')
    p.add_argument('--examples', default=os.path.dirname(HERE), help='the folder of extensions.conf and pjsip.conf')
    p.add_argument('--timeline', default=os.path.join(HERE, 'timeline.txt'))
    p.add_argument('--speed', type=float, default=1.0, help='pauses divided by this')
    p.add_argument('--limit', type=int, default=55, help='seconds the whole demo may take')
    p.add_argument('--brief', action='store_true', help='summaries only, no bodies')
    p.add_argument('--color', choices=('auto', 'always', 'never'), default='auto')
    args = p.parse_args()
    if args.speed <= 0:
        p.error('--speed must be positive')
    color = args.color == 'always' or (args.color == 'auto' and sys.stdout.isatty() and not os.environ.get('NO_COLOR'))
    out = Out(color)
    # a watchdog: whatever happens, the demo ends
    def give_up():
        out.lines(['', 'demo FAILED: still running after %d s; stopped' % (args.limit + 5 * WAIT)])
        os._exit(3)

    timer = threading.Timer(args.limit + 5 * WAIT, give_up)
    timer.daemon = True
    timer.start()
    try:
        return run(args, out)
    except DemoFailed as e:
        out.lines(['', 'demo FAILED: %s' % e])
        return 1
    except (OSError, ValueError) as e:
        out.lines(['', 'demo FAILED: %s' % e])
        return 1


if __name__ == '__main__':
    sys.exit(main())
