"""A unittest runner for the Python suites: verbose output, then one last
line `NAME: N passed, N failed, N skipped` that tests/run-all.sh adds up,
and exit status 1 when anything failed.

Tests that never ran because their class or module set-up failed count as
failed, so a daemon that does not start cannot make a suite look green.
"""

import os
import sys
import time
import unittest


class CountingResult(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0
        self._t0 = {}

    def startTest(self, test):
        self._t0[test.id()] = time.monotonic()
        super().startTest(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1
        dt = time.monotonic() - self._t0.get(test.id(), time.monotonic())
        if dt > 5:
            self.stream.writeln("  (slow: %s took %.1f s)" % (test.id(), dt))


def main(name, module="__main__", argv=None, require=()):
    """Runs the suite; `require` lists programs that must exist, so a
    missing build fails loudly instead of as a pile of errors."""
    missing = [p for p in require if not os.access(p, os.X_OK)]
    if missing:
        print("%s: 0 passed, 1 failed, 0 skipped (missing %s)" %
              (name, ", ".join(missing)))
        sys.exit(1)
    argv = sys.argv[1:] if argv is None else argv
    loader = unittest.TestLoader()
    if argv:
        suite = loader.loadTestsFromNames(argv, sys.modules[module])
    else:
        suite = loader.loadTestsFromModule(sys.modules[module])
    total = suite.countTestCases()
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2,
                                     resultclass=CountingResult)
    t0 = time.monotonic()
    result = runner.run(suite)
    skipped = len(result.skipped)
    passed = result.passed
    # a test with several failing subtests is one failed test; errors in
    # class set-up or tear-down (no test of their own) count one each
    bad = set()
    for test, _ in result.failures + result.errors:
        test = getattr(test, "test_case", test)     # a _SubTest
        bad.add(test.id())
    bad |= {t.id() for t in result.unexpectedSuccesses}
    failed = max(total - passed - skipped, len(bad))
    sys.stderr.write("%s: %.1f s\n" % (name, time.monotonic() - t0))
    sys.stderr.flush()
    print("%s: %d passed, %d failed, %d skipped" %
          (name, passed, failed, skipped))
    sys.stdout.flush()
    sys.exit(1 if failed else 0)
