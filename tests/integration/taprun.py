"""The TAP runner shared by the integration test scripts: each test is a
function that raises (AssertionError from check(), or anything else) to fail,
raises Skip to skip, and may return a short note."""
import sys
import time
import traceback


class Skip(Exception):
    pass


def check(cond, msg, *args):
    if not cond:
        raise AssertionError(msg % args if args else msg)


def run(tests, name_filter=''):
    """Run the tests whose name contains name_filter; print TAP; return the exit status."""
    tests = [t for t in tests if name_filter in t.__name__]
    print('1..%d' % len(tests), flush=True)
    failed = 0
    for i, t in enumerate(tests, 1):
        t0 = time.monotonic()
        try:
            note = t()
            print('ok %d - %s (%.1fs)%s' % (i, t.__name__, time.monotonic() - t0, ' # ' + note if note else ''),
                  flush=True)
        except Skip as e:
            print('ok %d - %s # SKIP %s' % (i, t.__name__, e), flush=True)
        except Exception:
            failed += 1
            print('not ok %d - %s' % (i, t.__name__), flush=True)
            for line in traceback.format_exc().splitlines():
                print('# ' + line, flush=True)
    sys.stdout.flush()
    return 1 if failed else 0
