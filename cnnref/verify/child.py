"""The child process that runs a candidate: ``python -m cnnref.verify.child``.

It talks to the parent over its original stdin and stdout (pickled
messages), and sends the candidate's own prints to stderr, which the parent
points at a log file it quotes when the candidate crashes.
"""

from __future__ import annotations

import os
import resource
import sys
from multiprocessing.connection import Connection

from .candidate import CandidateLoadError, LoadedCandidate
from .evaluate import evaluate


def main() -> None:
    requests = Connection(os.dup(0), writable=False)
    replies = Connection(os.dup(1), readable=False)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)  # the candidate's prints join stderr, the parent's log file
    # A crashing candidate should die at once, not spend seconds writing a core file.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    _, target, sys_path = requests.recv()
    sys.path[:] = sys_path
    try:
        candidate = LoadedCandidate.load(target)
    except CandidateLoadError as error:
        replies.send(("load-error", str(error)))
        return
    candidate.before_call = lambda name: replies.send(("calling", name))
    candidate.after_call = lambda name: replies.send(("returned", name))
    replies.send(("ready", sorted(candidate.functions), sorted(candidate.unsupported)))
    while (request := requests.recv()) is not None:
        property_name, case = request
        replies.send(("outcome", evaluate(property_name, candidate, case)))


if __name__ == "__main__":
    main()
