#!/usr/bin/env python3
"""The mini UA's `core show hints` and `pjsip show subscriptions inbound` in the layout of Asterisk's
commands (docs/mini-ua.md "core show hints"), over its standard-input control channel: the exact lines
(field widths, long names cut at Asterisk's widths, the footer count) for a configuration of our own, with
states set and subscriptions made over SIP, and the watcher counts following the subscriptions as they
come and go.

usage: test_mini_ua_cli.py --ua build/examples/sippres-mini-ua --examples examples
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asterisk_cli  # noqa: E402
import test_mini_ua as tmu  # noqa: E402
from sipclient import Client  # noqa: E402
from taprun import check  # noqa: E402

EXTENSIONS = """\
[cli]
exten => 100,hint,PJSIP/a
exten => 2000000000000000000,hint,PJSIP/averyveryverylongdevicename&PJSIP/b,CustomPresence:x(Long Name)
exten => 300,hint,,CustomPresence:p
exten => _4XX,hint,Custom:q${EXTEN}

[averyverylongcontextname]
exten => 5,hint,PJSIP/c(Display)
"""

PJSIP = """\
[w]
type=endpoint
context=cli

[w2]
type=endpoint
context=averyverylongcontextname
"""

TITLE = ['', '    -= Registered Asterisk Dial Plan Hints =-']


def hint(name, app, state, presence, watchers):
    """One line as Asterisk's "%-20.20s: %-20.20s  State:%-15.15s Presence:%-15.15s Watchers %2d" makes it,
    written out by hand so that the test does not share the code it checks."""
    name, app, state, presence = name[:20], app[:20], state[:15], presence[:15]
    return (name + ' ' * (20 - len(name)) + ': ' + app + ' ' * (20 - len(app)) + '  State:' + state
            + ' ' * (15 - len(state)) + ' Presence:' + presence + ' ' * (15 - len(presence)) + ' Watchers '
            + ('%d' % watchers).rjust(2))


def footer(n):
    return ['----------------', '- %d hints registered' % n]


class CliEnv:
    def __init__(self, extensions=EXTENSIONS):
        self.dir = tempfile.mkdtemp(prefix='miniua-cli-')
        for name, text in (('extensions.conf', extensions), ('pjsip.conf', PJSIP)):
            with open(os.path.join(self.dir, name), 'w') as f:
                f.write(text)
        self.ua = tmu.UA(self.dir)
        self.clients = []

    def client(self, user):
        c = Client(self.ua.addr, user=user)
        self.clients.append(c)
        return c

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for c in self.clients:
            c.close()
        self.ua.quit()
        shutil.rmtree(self.dir, ignore_errors=True)


def subscribed(c, resource, event='presence'):
    d, r = c.subscribe(resource, event)
    check(r.status == 200, 'SUBSCRIBE %s: %s', resource, r.start)
    c.notify(d)
    return d


def unsubscribed(c, d):
    r = c.resubscribe(d, 0)
    check(r.status == 200, 'un-SUBSCRIBE: %s', r.start)
    c.notify(d)


def test_hints_exact_lines():
    with CliEnv() as env:
        ua = env.ua
        want = TITLE + [
            hint('100@cli', 'PJSIP/a', 'Idle', 'not_set', 0),
            # exten@context and the devices cut at 20, the display name not part of the hint's app
            '2000000000000000000@: PJSIP/averyveryveryl  State:Idle            Presence:not_set         Watchers  0',
            hint('300@cli', ',CustomPresence:p', 'Unavailable', 'not_set', 0),
            # a pattern hint is listed as such, not evaluated itself
            hint('_4XX@cli', 'Custom:q${EXTEN}', 'Unavailable', '', 0),
            hint('5@averyverylongcontextname', 'PJSIP/c', 'Idle', 'not_set', 0),
        ] + footer(5)
        got = ua.ok('core show hints')
        check(got == want, 'core show hints:\n%s\nwanted:\n%s', '\n'.join(got), '\n'.join(want))
        # the hand-made line and the literal one agree: the helper is Asterisk's layout
        check(want[3] == hint('2000000000000000000@cli', 'PJSIP/averyveryverylongdevicename&PJSIP/b,'
                              'CustomPresence:x', 'Idle', 'not_set', 0), 'the hint() helper')
        # states: each column follows its own source, the long state names within 15
        ua.ok('devstate change PJSIP/a RINGINUSE')
        ua.ok('devstate change PJSIP/b ONHOLD')
        ua.ok('presencestate change CustomPresence:x dnd,meeting,In a meeting')
        ua.ok('presencestate change CustomPresence:p unavailable')
        got = ua.ok('core show hints')
        want[2] = hint('100@cli', 'PJSIP/a', 'InUse&Ringing', 'not_set', 0)
        want[3] = '2000000000000000000@: PJSIP/averyveryveryl  State:Hold            Presence:dnd             Watchers  0'
        want[4] = hint('300@cli', ',CustomPresence:p', 'Unavailable', 'unavailable', 0)
        check(got == want, 'after the state changes:\n%s\nwanted:\n%s', '\n'.join(got), '\n'.join(want))
        # a hint added and one removed on the control channel: the lines and the footer count
        ua.ok('dialplan add extension 101,hint,PJSIP/a&PJSIP/b into cli')
        ua.ok('dialplan remove extension 300@cli hint')
        rows = asterisk_cli.hints(ua)
        check(list(rows) == ['100@cli', '2000000000000000000@', '_4XX@cli', '5@averyverylongconte', '101@cli'],
              'hints after add/remove: %r', list(rows))
        check(rows['101@cli'] == {'app': 'PJSIP/a&PJSIP/b', 'state': 'InUse&Ringing', 'presence': 'not_set',
                                  'watchers': 0}, '101: %r', rows['101@cli'])
        check(ua.ok('core show hints')[-1] == '- 5 hints registered', 'footer after add/remove')


def test_watchers_follow_subscriptions():
    with CliEnv() as env:
        ua = env.ua
        c, c2 = env.client('w'), env.client('w2')

        def watchers():
            return {k: v['watchers'] for k, v in asterisk_cli.hints(ua).items()}

        check(set(watchers().values()) == {0}, 'before: %r', watchers())
        d1 = subscribed(c, '100')
        d2 = subscribed(c, '100', 'dialog')
        d3 = subscribed(c2, '5')
        w = watchers()
        check(w['100@cli'] == 2 and w['5@averyverylongconte'] == 1 and w['2000000000000000000@'] == 0, '%r', w)
        got = ua.ok('core show hints')
        check(got[2] == hint('100@cli', 'PJSIP/a', 'Idle', 'not_set', 2), 'line of 100: %r', got[2])
        # a subscription to an extension of the pattern hint: a new hint line of its own, with its watcher
        d4 = subscribed(c, '401')
        got = ua.ok('core show hints')
        check(hint('401@cli', 'Custom:q401', 'Idle', 'not_set', 1) in got, 'instantiated: %r', got)
        check(got[-1] == '- 6 hints registered', 'footer: %r', got[-1])
        # they go: the counts go down
        unsubscribed(c, d1)
        w = watchers()
        check(w['100@cli'] == 1 and w['5@averyverylongconte'] == 1 and w['401@cli'] == 1, 'after one left: %r', w)
        for cl, d in ((c, d2), (c2, d3), (c, d4)):
            unsubscribed(cl, d)
        check(set(watchers().values()) == {0}, 'after all left: %r', watchers())
        # the removed hint ends its subscriptions and its line
        d5 = subscribed(c, '100')
        check(watchers()['100@cli'] == 1, 'again')
        ua.ok('dialplan remove extension 100@cli hint')
        c.notify(d5)
        check('100@cli' not in watchers(), 'removed hint still listed')


def test_no_hints():
    with CliEnv(extensions='[cli]\n') as env:
        check(env.ua.ok('core show hints') == ['There are no registered dialplan hints'], 'empty listing')


TESTS = [test_hints_exact_lines, test_watchers_follow_subscriptions, test_no_hints]

if __name__ == '__main__':
    sys.exit(tmu.tap_main(TESTS))
