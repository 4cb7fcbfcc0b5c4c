"""The one harness the tests and the benches share.

``simulated``: the runtime on trio's MockClock with simulated processes.
"""
