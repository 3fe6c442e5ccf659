# SPDX-License-Identifier: MIT
"""The common ending of the check scripts in tests/: they collect problems in a
Problems list and end with its report (the scripts' own folder is on sys.path
when they run, so `from checkreport import Problems` finds this file)."""


class Problems(list):
    def report(self, name, ok_message):
        """Print the problems (exit status 1) or the script's success line (0)."""
        if self:
            print('%s: FAILED:' % name)
            for p in self:
                print('- ' + p)
            return 1
        print('%s: %s' % (name, ok_message))
        return 0
