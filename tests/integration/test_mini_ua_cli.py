#!/usr/bin/env python3
"""The mini UA's `core show hints`, `pjsip show subscriptions inbound` and `pjsip list subscriptions
inbound` in the layout of Asterisk's commands (docs/mini-ua.md "core show hints", "pjsip show
subscriptions"), over its standard-input control channel: the exact lines (field widths, long names cut at
Asterisk's widths, the footer count) for a configuration of our own, with states set and subscriptions made
over SIP, the watcher counts following the subscriptions as they come and go, caller IDs, expiry, and the
`like` filter.

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
callerid="Front \\"Desk\\"" <+1 555 0100>

[w3]
type=endpoint
context=cli
callerid=2002
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


SUBS_HEADER = [
    'Endpoint: <Endpoint/Caller-ID.............................................>',
    'Resource: <Resource/Event.................................................>',
    '  Expiry: <Expiry>  <Call-id..............................................>',
    '===========================================================================',
    '']


def show_entry(endpoint_cid, resource_event, expiry, call_id):
    """One subscription as Asterisk's `pjsip show subscriptions` prints it: three lines and a blank one, the
    expiry right-aligned in 8 columns after two spaces."""
    return ['Endpoint: ' + endpoint_cid, 'Resource: ' + resource_event,
            '  Expiry: ' + str(expiry).rjust(8) + '  ' + call_id, '']


def list_line(endpoint_cid, resource_event, expiry, call_id):
    """One line of Asterisk's `pjsip list subscriptions`: two columns of 30 (cut), the expiry in 6."""
    return (endpoint_cid[:30].ljust(30) + ' ' + resource_event[:30].ljust(30) + ' ' + expiry.rjust(6) + ' '
            + call_id)


def expiry_of(lines, call_id):
    """The expiry shown in a `show` listing for call_id: the countdown runs, so tests read it and bound it."""
    for line in lines:
        if line.startswith('  Expiry: ') and line.endswith('  ' + call_id):
            return int(line[10:18])
    raise AssertionError('no entry for %s in %r' % (call_id, lines))


def test_subscriptions_exact_lines():
    with CliEnv() as env:
        ua = env.ua
        empty = SUBS_HEADER + ['0 active subscriptions']
        check(ua.ok('pjsip show subscriptions inbound') == empty, 'empty: %r', ua.ok('pjsip show subscriptions inbound'))
        check(ua.ok('pjsip list subscriptions inbound') == [list_line('Endpoint/CLI', 'Resource/Event', 'Expiry',
                                                                      'Call-id'), '', '0 active subscriptions'],
              'empty list: %r', ua.ok('pjsip list subscriptions inbound'))
        c, c2, c3 = env.client('w'), env.client('w2'), env.client('w3')
        d1 = subscribed(c, '100')
        d2 = subscribed(c2, '5', 'dialog')
        d3, r = c3.subscribe('2000000000000000000', 'presence', expires=120)
        check(r.status == 200, 'SUBSCRIBE: %s', r.start)
        c3.notify(d3)
        got = ua.ok('pjsip show subscriptions inbound')
        # the countdown: 600 and 120 granted, at most a few seconds gone
        e1, e2, e3 = (expiry_of(got, d.call_id) for d in (d1, d2, d3))
        check(590 <= e1 <= 600 and 590 <= e2 <= 600 and 110 <= e3 <= 120, 'expiries %d %d %d', e1, e2, e3)
        want = (SUBS_HEADER
                + show_entry('w/<none>', '100/presence', e1, d1.call_id)
                # the name's quotes escaped with backslashes, the number in angle brackets
                + show_entry('w2/"Front \\"Desk\\"" <+1 555 0100>', '5/dialog', e2, d2.call_id)
                + show_entry('w3/2002', '2000000000000000000/presence', e3, d3.call_id)
                + ['3 active subscriptions'])
        check(got == want, 'pjsip show subscriptions inbound:\n%s\nwanted:\n%s', '\n'.join(got), '\n'.join(want))
        got = ua.ok('pjsip list subscriptions inbound')
        e1, e3 = (int(l[62:68]) for l in got[1:4:2])
        want = [list_line('Endpoint/CLI', 'Resource/Event', 'Expiry', 'Call-id'),
                list_line('w/<none>', '100/presence', str(e1), d1.call_id),
                # the list shows the caller ID's name alone; columns cut at 30
                list_line('w2/Front "Desk"', '5/dialog', got[2][62:68].strip(), d2.call_id),
                list_line('w3/2002', '2000000000000000000/presence', str(e3), d3.call_id),
                '', '3 active subscriptions']
        check(got == want, 'pjsip list subscriptions inbound:\n%s\nwanted:\n%s', '\n'.join(got), '\n'.join(want))
        check(len(got[3].split(' ')[0]) == 7 and got[3][30] == ' ' and got[3][61] == ' ', 'columns: %r', got[3])
        # like: an extended regular expression over each entry's whole text (show: its three lines)
        got = ua.ok('pjsip show subscriptions inbound like "Resource: (5|100)/"')
        check(got[:5] == SUBS_HEADER and len(got) == 5 + 8 + 1
              and got[-1] == '2 active subscriptions matched "Resource: (5|100)/"', 'like show: %r', got)
        check(got[5] == 'Endpoint: w/<none>' and got[9].startswith('Endpoint: w2/'), 'like show order: %r', got)
        got = ua.ok('pjsip list subscriptions inbound like ^w3/')
        check(len(got) == 4 and got[1].startswith('w3/2002 ') and got[-1] == '1 active subscriptions matched "^w3/"',
              'like list: %r', got)
        got = ua.ok('pjsip show subscriptions inbound like ' + d2.call_id)
        check(got[-1].startswith('1 active subscriptions matched'), 'like the call-id: %r', got)
        # an entry's text ends with its newline(s), and without REG_NEWLINE '$' matches only after them: as in
        # Asterisk, 'call-id$' selects nothing in either layout
        for verb in ('show', 'list'):
            got = ua.ok('pjsip %s subscriptions inbound like "%s$"' % (verb, d2.call_id))
            check(got[-1].startswith('0 active subscriptions matched'), '%s like the call-id$: %r', verb, got)
        # outbound: this notifier subscribes to nothing
        check(ua.ok('pjsip show subscriptions outbound') == empty, 'outbound')
        # a regular expression that does not compile: Asterisk's message, nothing listed
        lines, status = ua.cmd('pjsip show subscriptions inbound like "(unclosed"')
        check(lines == [] and status.startswith("ERR Regular expression '(unclosed' failed to compile: "),
              'bad regex: %r %r', lines, status)
        lines, status = ua.cmd('pjsip show subscriptions inbound like')
        check(status.startswith('ERR usage: pjsip show subscriptions {inbound|outbound} [like <regex>]'), '%r', status)
        # the program's own listing still has every field
        detail = ua.ok('sippres show subscriptions')
        check(len(detail) == 3 and 'call-id=' + d1.call_id in detail[0], 'detail: %r', detail)
        # one leaves: the listings follow
        unsubscribed(c2, d2)
        got = ua.ok('pjsip show subscriptions inbound')
        check(got[-1] == '2 active subscriptions' and not [x for x in got if d2.call_id in x], 'after leaving: %r', got)


TESTS = [test_hints_exact_lines, test_watchers_follow_subscriptions, test_no_hints, test_subscriptions_exact_lines]

if __name__ == '__main__':
    sys.exit(tmu.tap_main(TESTS))
