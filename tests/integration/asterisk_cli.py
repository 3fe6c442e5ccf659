"""Parsers of the listings that sippres-mini-ua prints in the layout of Asterisk's CLI commands (docs/mini-ua.md
"core show hints"), for the integration test scripts. They read the fixed columns the way a script written
against Asterisk would, so a test that uses them also checks the layout."""
import re

# `core show hints`: exten@context (20, cut), ': ', the hint's devices/presence (20, cut), '  State:' (15),
# ' Presence:' (15), ' Watchers ' and the count (2)
HINT_LINE = re.compile(r'^(.{20}): (.{20})  State:(.{15}) Presence:(.{15}) Watchers (.{2,})$')
HINTS_TITLE = '    -= Registered Asterisk Dial Plan Hints =-'


def hint_rows(lines):
    """The hint lines of a `core show hints` reply as a dict 'exten@context' -> {app, state, presence,
    watchers}, after checking the title and the footer around them."""
    if lines == ['There are no registered dialplan hints']:
        return {}
    assert len(lines) >= 4 and lines[0] == '' and lines[1] == HINTS_TITLE, 'title: %r' % lines[:2]
    assert lines[-2] == '----------------', 'separator: %r' % lines[-2:]
    m = re.match(r'^- (\d+) hints registered$', lines[-1])
    assert m and int(m.group(1)) == len(lines) - 4, 'footer: %r for %d lines' % (lines[-1], len(lines) - 4)
    rows = {}
    for line in lines[2:-2]:
        h = HINT_LINE.match(line)
        assert h, 'not a hint line: %r' % line
        rows[h.group(1).rstrip()] = {'app': h.group(2).rstrip(), 'state': h.group(3).rstrip(),
                                     'presence': h.group(4).rstrip(), 'watchers': int(h.group(5))}
    return rows


def hints(ua):
    """`core show hints` on a test_mini_ua.UA (or anything with ok(command) -> lines), parsed."""
    return hint_rows(ua.ok('core show hints'))
