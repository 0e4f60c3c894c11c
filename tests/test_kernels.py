"""cs280diff.course.kernels: a reply whose wake-up pyzmq missed is read within one poll slice, not when the wait's
timeout runs out; and every way the course runs a notebook uses that client."""
import asyncio
import time

import nbformat
import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import Session
from nbclient import NotebookClient

from cs280diff.course import kernels, nbgrader_api


async def _read_after_a_missed_wake_up(channel_class, timeout: float) -> tuple[float, dict]:
    """Seconds until ``channel_class`` returns a message that arrived while it waited, whose wake-up was consumed
    (a synchronous look at the socket's events drains its edge-triggered file descriptor, as libzmq documents)."""
    ctx = zmq.asyncio.Context()
    receiver = ctx.socket(zmq.PAIR)
    receiver.bind("inproc://reply")
    sender = zmq.Context.shadow(ctx.underlying).socket(zmq.PAIR)  # synchronous, same context: inproc
    sender.connect("inproc://reply")
    session = Session()
    try:
        waiting = asyncio.ensure_future(channel_class(receiver, session).get_msg(timeout=timeout))
        await asyncio.sleep(0.2)  # the channel now polls the receiver's file descriptor
        session.send(sender, "execute_reply", {"status": "ok"})
        zmq.Socket.shadow(receiver.underlying).getsockopt(zmq.EVENTS)  # the wake-up is gone, the message is not
        start = time.monotonic()
        msg = await waiting
        return time.monotonic() - start, msg
    finally:
        sender.close(linger=0)
        receiver.close(linger=0)
        ctx.term()


def test_jupyter_clients_plain_channel_reads_such_a_reply_only_at_its_timeout():
    """The failure the patient channel exists for (if pyzmq stops missing it, PatientChannel may go)."""
    waited, msg = asyncio.run(_read_after_a_missed_wake_up(AsyncZMQSocketChannel, timeout=3.0))
    assert msg["msg_type"] == "execute_reply"
    assert waited >= 2.5, f"pyzmq read the reply after {waited:.2f} s: it no longer misses this wake-up"


def test_the_patient_channel_reads_it_within_a_slice():
    waited, msg = asyncio.run(_read_after_a_missed_wake_up(kernels.PatientChannel, timeout=60.0))
    assert msg["msg_type"] == "execute_reply" and msg["content"] == {"status": "ok"}
    assert waited < 10 * kernels.POLL_SLICE, f"the patient channel waited {waited:.2f} s for a reply already there"


def test_the_patient_channel_still_times_out():
    async def wait_for_nothing():
        ctx = zmq.asyncio.Context()
        sock = ctx.socket(zmq.PAIR)
        sock.bind("inproc://nothing")
        start = time.monotonic()
        try:
            with pytest.raises(Exception) as raised:
                await kernels.PatientChannel(sock, Session()).get_msg(timeout=1.2)
            return time.monotonic() - start, raised.type.__name__
        finally:
            sock.close(linger=0)
            ctx.term()

    waited, name = asyncio.run(wait_for_nothing())
    assert name == "Empty" and 1.1 <= waited < 5, (name, waited)


def test_nbgrader_and_the_notebook_runs_use_the_patient_client(tmp_path):
    """nbgrader's Execute builds an AsyncKernelManager from the course's config; its client must be the patient
    one.  A notebook run through ``PatientKernelManager`` works end to end."""
    api = nbgrader_api(tmp_path)
    from jupyter_client import AsyncKernelManager

    km = AsyncKernelManager(config=api.config)
    assert km.client_factory is kernels.PatientKernelClient
    assert kernels.PatientKernelManager().client_factory is kernels.PatientKernelClient
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    client = NotebookClient(nb, timeout=60, kernel_name="python3", kernel_manager_class=kernels.PatientKernelManager)
    with client.setup_kernel():
        assert isinstance(client.kc, kernels.PatientKernelClient)
        assert isinstance(client.kc.shell_channel, kernels.PatientChannel)
        assert isinstance(client.kc.iopub_channel, kernels.PatientChannel)
        client.execute_cell(nb.cells[0], 0)
    assert nb.cells[0].outputs[0]["text"] == "42\n"
