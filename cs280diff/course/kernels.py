"""The kernel manager every notebook run of the course uses (nbgrader's autograde, the site, the tests).

A message can sit unnoticed in an asynchronous kernel client's socket: pyzmq's asyncio poll waits on ZeroMQ's
edge-triggered file descriptor, and a wake-up that is consumed elsewhere is never repeated.  The reply is then read
only when the poll times out (its timeout checks the socket itself).  nbclient waits for a cell's reply with one poll
as long as the cell's timeout, so a cell that had finished in a second was seen to finish after 600 s, with kernel
and client idle.  Measured on notebook 2's student view (2 cores): the plain client held a finished cell until the
timeout in 1 of 2 runs (900 s) and in 1 of 6 (120 s); this one in none of 15 (in the 8 runs watched, it read one
missed IOPub message, 0.5 s late).  Every wait here is cut into slices of ``POLL_SLICE`` seconds, so a missed
wake-up costs at most one slice.
"""
from __future__ import annotations

import time
from queue import Empty

from jupyter_client import AsyncKernelManager, KernelClient
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import DottedObjectName, Type

__all__ = ["POLL_SLICE", "PatientChannel", "PatientKernelClient", "PatientKernelManager"]

POLL_SLICE = 0.5  # seconds: the longest a message may wait unseen in the client's socket


class PatientChannel(AsyncZMQSocketChannel):
    """An asynchronous channel whose ``get_msg`` polls in slices of ``POLL_SLICE`` s (a poll's timeout looks at the
    socket itself, so a message whose wake-up was missed is read at the end of the slice)."""

    async def get_msg(self, timeout: float | None = None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            step = POLL_SLICE if left is None else min(POLL_SLICE, left)
            try:
                return await super().get_msg(timeout=step)
            except Empty:
                if left is not None and left <= step:
                    raise  # the caller's whole timeout has passed


class PatientKernelClient(AsyncKernelClient):
    """``AsyncKernelClient`` with ``PatientChannel`` for shell, IOPub, stdin and control."""

    shell_channel_class = Type(PatientChannel)
    iopub_channel_class = Type(PatientChannel)
    stdin_channel_class = Type(PatientChannel)
    control_channel_class = Type(PatientChannel)


class PatientKernelManager(AsyncKernelManager):
    """``AsyncKernelManager`` (nbclient's default) whose clients are ``PatientKernelClient``."""

    client_class = DottedObjectName("cs280diff.course.kernels.PatientKernelClient", config=True)
    client_factory = Type(PatientKernelClient, klass=KernelClient, config=True)
