"""The trust boundary: a candidate runs in a lean, fenced process of its own.

``process`` is the verifier's side (start, call, stop); ``child`` is the
candidate's side; ``wire`` is the only thing they share, a frame format
without pickle; ``confine`` puts up the fences.  The candidate's process
runs the candidate's functions and nothing of cnnref's judgement.

This package imports nothing heavy, so that the child starts fast.
"""
