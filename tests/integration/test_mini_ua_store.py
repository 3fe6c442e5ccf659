#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sippres-mini-ua --state-dir on disk (issue 11): unsafe directories refused,
corrupt records kept as .bad, leftover temporary files never restored, a crash
between write and rename (the test hook), the record limit, and coalesced writes.

usage: test_mini_ua_store.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples [-k NAME]
Prints TAP. Every wait is bounded."""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import taprun  # noqa: E402
import test_mini_ua as tmu  # noqa: E402
from sipclient import Client  # noqa: E402
from taprun import Skip, check  # noqa: E402

HOOK = 'SIPPRES_MINI_UA_CRASH_AFTER_WRITE'
HOOK_STATUS = 86


@contextlib.contextmanager
def dirs():
    """A fresh configuration and state directory (mode 0700), removed afterwards."""
    conf = tmu.make_conf()
    state = tempfile.mkdtemp(prefix='miniua-store-')
    try:
        yield conf, state
    finally:
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(conf, ignore_errors=True)


@contextlib.contextmanager
def env(**kw):
    old = {k: os.environ.get(k) for k in kw}
    os.environ.update({k: str(v) for k, v in kw.items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Store:
    """A UA on a fresh configuration and state directory, and a client; restart() starts the next UA on the
    same port (with more environment variables); the last one is stopped and everything removed at the end."""

    def __init__(self, *extra):
        self.extra = list(extra)
        self.ua = self.c = None

    def __enter__(self):
        self.conf = tmu.make_conf()
        self.state = tempfile.mkdtemp(prefix='miniua-store-')
        try:
            self.ua = tmu.UA(self.conf, state_dir=self.state, extra=self.extra)
            self.c = Client(self.ua.addr, user='tester')
        except BaseException:
            self.__exit__()
            raise
        return self

    def restart(self, **env_vars):
        with env(**env_vars):
            self.ua = tmu.UA(self.conf, listen='127.0.0.1:%d' % self.c.server[1], state_dir=self.state,
                             extra=self.extra)
        return self.ua

    def __exit__(self, *exc):
        if self.ua:
            self.ua.quit()
        if self.c:
            self.c.close()
        shutil.rmtree(self.state, ignore_errors=True)
        shutil.rmtree(self.conf, ignore_errors=True)


def records(state):
    return sorted(f for f in os.listdir(state) if f.endswith('.sub'))


def record_of(state, d):
    """The record file of dialog d (our tag, the notifier's, starts its name)."""
    names = [f for f in records(state) if f.startswith(d.remote_tag + '-')]
    check(len(names) == 1, 'record of %s: %r in %r', d.remote_tag, names, records(state))
    return os.path.join(state, names[0])


def show_subs(ua):
    return [l for l in ua.ok('sippres show subscriptions') if 'call-id=' in l]


def version_of(n):
    m = re.search(r'version="(\d+)"', n.body)
    return int(m.group(1)) if m else None


def start_fails(conf, state_dir):
    """Run the UA on state_dir expecting it to refuse: (exit status, stderr)."""
    argv = os.environ.get('MINIUA_WRAPPER', '').split() + [
        tmu.ARGS.ua, '--listen', '127.0.0.1:0', '--extensions', os.path.join(conf, 'extensions.conf'),
        '--pjsip', os.path.join(conf, 'pjsip.conf'), '--state-dir', state_dir]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    return p.returncode, p.stderr.decode('utf-8', 'replace')


# ---------------------------------------------------------------------------------------------------

def test_unsafe_state_dir_refused():
    with dirs() as (conf, state):
        target = os.path.join(state, 'real')
        os.mkdir(target, 0o700)
        link = os.path.join(state, 'link')
        os.symlink(target, link)
        cases = [(link, 'it is a symbolic link')]
        for mode, who in ((0o770, 'its group'), (0o702, 'others'), (0o777, 'others')):
            d = os.path.join(state, 'mode%o' % mode)
            os.mkdir(d)
            os.chmod(d, mode)
            cases.append((d, 'writable by %s (mode %04o' % (who, mode)))
        plain = os.path.join(state, 'file')
        open(plain, 'w').close()
        cases.append((plain, 'not a directory'))
        # DIR/state is checked the same way
        inner = os.path.join(state, 'inner')
        os.mkdir(inner, 0o700)
        os.symlink(target, os.path.join(inner, 'state'))
        cases.append((inner, 'state: it is a symbolic link'))
        if os.geteuid() == 0:
            other = os.path.join(state, 'other')
            os.mkdir(other, 0o700)
            os.chown(other, 65534, 65534)
            cases.append((other, 'owned by uid 65534, not by the running user'))
        else:
            cases.append(('/usr', 'owned by uid 0, not by the running user'))
        for d, why in cases:
            status, err = start_fails(conf, d)
            check(status == 1, '%s: exit status %r, expected 1; log:\n%s', d, status, err)
            check('refusing state directory' in err and why in err, '%s: no %r in the log:\n%s', d, why, err)
            check('listening on udp' not in err, '%s: it served anyway', d)
        # nothing was created inside what was refused
        check(os.listdir(target) == [], 'wrote into the symlink target: %r', os.listdir(target))
        # a missing directory is created private, and a good one is accepted
        fresh = os.path.join(state, 'fresh', )
        ua = tmu.UA(conf, state_dir=fresh)
        try:
            check(os.stat(fresh).st_mode & 0o777 == 0o700, 'mode %o', os.stat(fresh).st_mode & 0o777)
            check(os.stat(os.path.join(fresh, 'state')).st_mode & 0o777 == 0o700, 'state/ mode')
        finally:
            check(ua.quit() == 0, 'exit status %r', ua.proc.returncode)


def test_one_ua_per_state_dir():
    with Store() as s:
        status, err = start_fails(s.conf, s.state)
        check(status == 1 and 'refusing state directory %s: another sippres-mini-ua is using it' % s.state in err,
              'a second UA on %s: exit status %r, log:\n%s', s.state, status, err)
        # the first one goes on, and its successor gets the directory once it has stopped
        d, r = s.c.subscribe('1000', 'presence', expires=600)
        check(r.status == 200, '%s', r.start)
        s.c.notify(d)
        check(s.ua.quit() == 0, 'exit status %r', s.ua.proc.returncode)
        s.restart()
        s.c.notify(d)


def test_corrupt_records_kept_as_bad():
    with Store() as s:
        ua, c, state = s.ua, s.c, s.state
        subs = []
        for res in ('1000', '1001', '1002', '1003', '3000'):
            d, r = c.subscribe(res, 'presence', expires=600)
            check(r.status == 200, '%s', r.start)
            c.notify(d)
            subs.append(d)
        ua.kill9()
        files = [record_of(state, d) for d in subs]
        damage = {}
        data = open(files[0], 'rb').read()
        mid = len(data) // 2
        damage[files[0]] = (data[:mid] + bytes([data[mid] ^ 0x20]) + data[mid + 1:], 'checksum mismatch')
        data = open(files[1], 'rb').read()
        damage[files[1]] = (data[:len(data) - 9], 'checksum mismatch')
        data = open(files[2], 'rb').read()
        damage[files[2]] = (data[:4] + b'\x09' + data[5:], 'record format 9, this build reads 1')
        damage[files[3]] = (data[:20], 'truncated: 20 bytes')
        for f, (b, _) in damage.items():
            with open(f, 'wb') as fh:
                fh.write(b)
        ua = s.restart()
        n = c.notify(subs[4])  # the intact one comes back
        check(n.cseq[0] == subs[4].notify_cseqs[-2] + 1, 'CSeq %d after %r', n.cseq[0], subs[4].notify_cseqs)
        live = show_subs(ua)
        check(len(live) == 1 and subs[4].call_id in live[0], 'restored: %r', live)
        for f, (b, why) in damage.items():
            name = os.path.basename(f)
            check(not os.path.exists(f), '%s still a record', name)
            check(os.path.exists(f + '.bad'), '%s.bad missing: %r', name, os.listdir(state))
            check(open(f + '.bad', 'rb').read() == b, '%s.bad is not the file as found', name)
            check(re.search(r'%s is unusable \(%s' % (re.escape(name), re.escape(why)), ua.log()),
                  'no reason %r for %s in the log:\n%s', why, name, ua.log())
        for d in subs[:4]:
            c.no_notify(d, 0.3)
        # a .bad file is never restored again
        ua.quit()
        ua = s.restart()
        c.notify(subs[4])
        check(len(show_subs(ua)) == 1, 'restored: %r', show_subs(ua))
        check(len([f for f in os.listdir(state) if f.endswith('.bad')]) == 4, '%r', os.listdir(state))


def test_leftover_temp_files_removed():
    with Store() as s:
        ua, c, state = s.ua, s.c, s.state
        d1, r = c.subscribe('1000', 'dialog', expires=600)
        c.notify(d1)
        d2, r = c.subscribe('1001', 'presence', expires=600)
        c.notify(d2)
        ua.kill9()
        # d2's record only as temporary files (new and old naming), as if a crash came before the rename
        f2 = record_of(state, d2)
        for tmp in (f2 + '.4242-1.tmp', f2 + '.tmp'):
            shutil.copy(f2, tmp)
        os.unlink(f2)
        open(os.path.join(state, 'state', 'device-50.4242-2.tmp'), 'w').write('PJSIP/x\nINUSE\n')
        ua = s.restart()
        c.notify(d1)
        c.no_notify(d2, 0.3)
        live = show_subs(ua)
        check(len(live) == 1 and d1.call_id in live[0], 'restored: %r', live)
        left = [f for f in os.listdir(state) + os.listdir(os.path.join(state, 'state')) if f.endswith('.tmp')]
        check(not left, 'temporary files left: %r', left)
        check(ua.log().count('left by an interrupted write') == 3, 'log:\n%s', ua.log())


def test_crash_between_write_and_rename():
    with Store() as s:
        ua, c, state = s.ua, s.c, s.state
        d1, r = c.subscribe('1000', 'dialog', expires=600, event_id='7')
        c.notify(d1)
        d2, r = c.subscribe('1000', 'presence', expires=600)
        c.notify(d2)
        for st in ('RINGING', 'INUSE'):
            ua.ok('devstate change PJSIP/alice %s' % st)
            n1, n2 = c.notify(d1), c.notify(d2)
        check(version_of(n1) == 2, 'version %r', version_of(n1))
        ua.quit()
        before = {f: open(os.path.join(state, f), 'rb').read() for f in records(state)}
        check(len(before) == 2, 'records %r', before)
        # restart with the hook: the restore writes both records (writes 1 and 2), the next change
        # writes d1's record (3), then d2's (4): the process dies after that write, before any rename
        ua = s.restart(**{HOOK: 4})
        r1, r2 = c.notify(d1), c.notify(d2)
        check(r1.cseq[0] == n1.cseq[0] + 1 and version_of(r1) == 3, 'restored %d v%r', r1.cseq[0],
              version_of(r1))
        ua.proc.stdin.write(b'devstate change PJSIP/alice ONHOLD\n')
        ua.proc.stdin.flush()
        ua.proc.wait(10)
        check(ua.proc.returncode == HOOK_STATUS, 'exit status %r, log:\n%s', ua.proc.returncode, ua.log())
        check('before its rename' in ua.log(), 'log:\n%s', ua.log())
        # the NOTIFYs of the change whose records were not renamed never went out
        c.no_notify(d1, 0.3)
        c.no_notify(d2, 0.1)
        tmps = sorted(f for f in os.listdir(state) if f.endswith('.tmp'))
        check(len(tmps) == 2, 'temporary files %r', tmps)
        mid = {f: open(os.path.join(state, f), 'rb').read() for f in records(state)}
        check(sorted(mid) == sorted(before), 'records %r', sorted(mid))
        # restart: each subscription exactly once, from its last complete record; no temporary file
        ua = s.restart()
        s1, s2 = c.notify(d1), c.notify(d2)
        check(s1.cseq[0] == r1.cseq[0] + 1, 'CSeq %d after %d', s1.cseq[0], r1.cseq[0])
        check(version_of(s1) == version_of(r1) + 1, 'version %r after %r', version_of(s1), version_of(r1))
        check('<state>confirmed</state>' in s1.body, 'state: %s', s1.body)
        check(s2.cseq[0] == r2.cseq[0] + 1, 'CSeq %d after %d', s2.cseq[0], r2.cseq[0])
        live = show_subs(ua)
        check(len(live) == 2 and {d1.call_id, d2.call_id} == {re.search(r'call-id=(\S+)', l).group(1)
                                                               for l in live}, 'restored: %r', live)
        check(not [f for f in os.listdir(state) if f.endswith('.tmp')], '%r', os.listdir(state))
        check(ua.log().count('left by an interrupted write') == 2, 'log:\n%s', ua.log())
        c.no_notify(d1, 0.3)
        # and the dialog goes on
        ua.ok('devstate change PJSIP/alice NOT_INUSE')
        t1 = c.notify(d1)
        check(t1.cseq[0] == s1.cseq[0] + 1 and version_of(t1) == version_of(s1) + 1, 'CSeq %d', t1.cseq[0])


def test_record_limit():
    with Store('--max-records', '2') as s:
        ua, c, state = s.ua, s.c, s.state
        subs = []
        for res in ('1000', '1001', '1002'):
            d, r = c.subscribe(res, 'presence', expires=600)
            check(r.status == 200, 'past the limit the subscription is still served: %s', r.start)
            c.notify(d)
            subs.append(d)
        check(len(records(state)) == 2, 'records %r', records(state))
        check(not [f for f in records(state) if f.startswith(subs[2].remote_tag)], 'the third was stored')
        check(ua.wait_log('the limit (--max-records 2)'), 'log:\n%s', ua.log())
        ua.ok('devstate change PJSIP/carol INUSE')  # 1002 is carol: its NOTIFY still goes out
        c.notify(subs[2])
        # an ended subscription frees its slot: the third's next change stores it
        r = c.resubscribe(subs[0], 0)
        check(r.status == 200, '%s', r.start)
        c.notify(subs[0])
        ua.ok('devstate change PJSIP/carol NOT_INUSE')
        last = c.notify(subs[2])
        check(len(records(state)) == 2, 'records %r', records(state))
        record_of(state, subs[2])
        ua.kill9()
        ua = s.restart()
        n1, n2 = c.notify(subs[1]), c.notify(subs[2])
        check(n2.cseq[0] == last.cseq[0] + 1, 'CSeq %d after %d', n2.cseq[0], last.cseq[0])
        check(len(show_subs(ua)) == 2, '%r', show_subs(ua))
        argv = [tmu.ARGS.ua, '--listen', '127.0.0.1:0', '--extensions', 'x', '--pjsip', 'y', '--max-records', '0']
        status = subprocess.run(os.environ.get('MINIUA_WRAPPER', '').split() + argv, stderr=subprocess.PIPE,
                                timeout=10).returncode
        check(status == 2, '--max-records 0: exit status %r', status)


def store_counters(log):
    m = re.search(r'store: (\d+) record\(s\) handed over, (\d+) file write\(s\) in (\d+) batch\(es\), (\d+) file '
                  r'fsync\(s\), (\d+) syncfs, (\d+) directory fsync\(s\)', log)
    check(m, 'no store counters in the log:\n%s', log[-2000:])
    return dict(zip(('persists', 'writes', 'batches', 'fsyncs', 'syncfs', 'dir_fsyncs'), map(int, m.groups())))


def test_burst_coalesces_writes():
    with Store() as s:
        ua, c, state = s.ua, s.c, s.state
        d, r = c.subscribe('1000', 'dialog', expires=600)
        first = c.notify(d)
        # 100 changes in one write (under PIPE_BUF: one read, one event-loop turn)
        lines = ''.join('devstate change PJSIP/alice %s\n' % ('INUSE' if i % 2 == 0 else 'NOT_INUSE')
                        for i in range(100))
        check(len(lines) < 4096, '%d bytes', len(lines))
        ua.proc.stdin.write(lines.encode())
        ua.proc.stdin.flush()
        for i in range(100):
            l = ua.out.get(timeout=10)
            check(l == 'OK', 'reply %d: %r', i, l)
        cseqs = [c.notify(d).cseq[0] for _ in range(100)]
        check(sorted(cseqs) == list(range(first.cseq[0] + 1, first.cseq[0] + 101)), 'CSeqs %r', cseqs)
        check(ua.quit() == 0, 'exit status %r', ua.proc.returncode)
        k = store_counters(ua.log())
        # the SUBSCRIBE (its record, then its NOTIFY's), then the 100 changes: one batch of two files
        # (the record and state/device-...), each fdatasync'ed, and one fsync of each directory
        check(k['persists'] >= 101, '%r', k)
        check(k['writes'] <= 4 and k['batches'] <= 3, 'not coalesced: %r', k)
        check(k['fsyncs'] == k['writes'] and 1 <= k['dir_fsyncs'] <= 2 * k['batches'], '%r', k)
        ua = s.restart()
        n = c.notify(d)
        check(n.cseq[0] == max(cseqs) + 1, 'restored CSeq %d after %d', n.cseq[0], max(cseqs))
        return '%(persists)d records handed over: %(writes)d writes, %(fsyncs)d+%(dir_fsyncs)d fsyncs' % k


def test_fan_out_one_syncfs():
    with Store() as s:
        ua, c, state = s.ua, s.c, s.state
        subs = []
        for _ in range(20):
            d, r = c.subscribe('1000', 'dialog', expires=600)
            check(r.status == 200, '%s', r.start)
            c.notify(d)
            subs.append(d)
        ua.ok('devstate change PJSIP/alice RINGING')
        last = {d.call_id: c.notify(d) for d in subs}
        check(ua.quit() == 0, 'exit status %r', ua.proc.returncode)
        k = store_counters(ua.log())
        # 20 SUBSCRIBEs: one batch each (fdatasync); the fan-out: 20 records and the device state in
        # one batch made durable by one syncfs, then one fsync per directory
        check(k['syncfs'] == 1 and k['fsyncs'] == k['writes'] - 21, '%r', k)
        check(re.search(r'batch \d+: 21 file\(s\) written for 21 change\(s\), 3 fsync\(s\) \(syncfs\)', ua.log()),
              'log:\n%s', ua.log()[-3000:])
        ua = s.restart()
        for d in subs:
            n = c.notify(d)
            check(n.cseq[0] == last[d.call_id].cseq[0] + 1, 'CSeq %d after %d', n.cseq[0],
                  last[d.call_id].cseq[0])
            check(version_of(n) == version_of(last[d.call_id]) + 1 and '<state>early</state>' in n.body,
                  'restored body %s', n.body)
        return '%(writes)d writes: %(fsyncs)d fdatasync, %(syncfs)d syncfs, %(dir_fsyncs)d directory fsyncs' % k


def test_durable_before_sent():
    """strace's record of the UA's calls: each record is flushed, renamed and its directory flushed before
    the 200 or the NOTIFY that it describes is sent; temporary files are opened O_EXCL|O_NOFOLLOW|O_CLOEXEC."""
    if not shutil.which('strace') or os.environ.get('MINIUA_WRAPPER'):
        raise Skip('needs strace, and no other MINIUA_WRAPPER')
    if subprocess.run(['strace', '-qq', '-o', os.devnull, 'true'], stderr=subprocess.DEVNULL).returncode != 0:
        raise Skip('strace cannot trace here (ptrace not allowed)')
    trace = tempfile.mktemp(prefix='miniua-strace-')
    calls = 'trace=openat,fdatasync,syncfs,fsync,renameat,sendto,sendmmsg'
    try:
        with env(MINIUA_WRAPPER='strace -f -qq -s 24 -e %s -o %s' % (calls, trace)), Store() as s:
            d, r = s.c.subscribe('1000', 'dialog', expires=600)
            check(r.status == 200, '%s', r.start)
            s.c.notify(d)
            for st in ('RINGING', 'INUSE'):
                s.ua.ok('devstate change PJSIP/alice %s' % st)
                s.c.notify(d)
            s.ua.quit()
        lines = [re.sub(r'^\d+ +', '', l) for l in open(trace)]
        if os.environ.get('DEBUG_TRACE'):
            sys.stderr.write(''.join(lines))
    finally:
        if os.path.exists(trace):
            os.unlink(trace)
    tmp_fds, synced, renamed, durable, sent = {}, set(), set(), set(), []
    for l in lines:
        m = re.match(r'openat\((\d+|AT_FDCWD), "([^"]+\.tmp)", [^)]*O_EXCL[^)]*\)\s+= (\d+)', l)
        if m:
            check('O_NOFOLLOW' in l and 'O_CLOEXEC' in l, 'temporary file opened without safe flags: %s', l)
            tmp_fds[int(m.group(3))] = m.group(2)
            continue
        m = re.match(r'fdatasync\((\d+)\)\s+= 0', l)
        if m and int(m.group(1)) in tmp_fds:
            synced.add(tmp_fds.pop(int(m.group(1))))
            continue
        m = re.match(r'renameat\(\d+, "([^"]+)", \d+, "([^"]+\.sub)"\)\s+= 0', l)
        if m:
            check(m.group(1) in synced, 'renamed before it was flushed: %s', l)
            renamed.add(m.group(2))
            continue
        if re.match(r'fsync\(\d+\)\s+= 0', l):
            durable |= renamed
            renamed = set()
            continue
        # NOTIFYs go out in batches (sendmmsg), answers one by one (sendto) or a batch's together (sendmmsg)
        m = re.match(r'sendto\(\d+, "(NOTIFY|SIP/2.0 200)', l) or \
            re.match(r'sendmmsg\(\d+, \[\{msg_hdr=.*?iov_base="(NOTIFY|SIP/2.0 200)', l)
        if m:
            # in this dialog every message is preceded by a new record of its own
            sent.append((m.group(1), bool(durable) and not renamed))
            durable = set()
    check(len(sent) >= 4 and sent[0][0] == 'SIP/2.0 200', 'sent %r', sent)
    check(all(ok for _, ok in sent), 'sent before its record was durable: %r', sent)
    return '%d messages, each after its record was durable' % len(sent)


TESTS = [
    test_unsafe_state_dir_refused,
    test_one_ua_per_state_dir,
    test_corrupt_records_kept_as_bad,
    test_leftover_temp_files_removed,
    test_crash_between_write_and_rename,
    test_record_limit,
    test_burst_coalesces_writes,
    test_fan_out_one_syncfs,
    test_durable_before_sent,
]


def main():
    return tmu.tap_main(TESTS)


if __name__ == '__main__':
    sys.exit(main())
