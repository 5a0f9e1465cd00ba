"""`make bench`: the performance figures of issue 8, measured against the sandbox.

``report`` is pure (statistics, goals, the results document, the table) and is
unit tested; ``env`` starts what the measurements talk to (the sandbox in its
own process, a latency proxy); ``measures`` holds one function per figure.
Nothing here runs in `make test`.
"""
