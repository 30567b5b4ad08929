"""The stack's worker process (PARLEY_WORKERS, default 1): a killed worker is started again
and the stack goes on answering and pushing; no worker outlives the stack, whether it
stops cleanly or is killed."""

import os
import signal
import time
from pathlib import Path

import pytest

from tests.api.stack_client import Rest, ticket


@pytest.fixture
def stack(restartable):
    return restartable


def workers_of(pid: int) -> list[int]:
    return [int(child) for task in Path(f"/proc/{pid}/task").glob("*")
            for child in (task / "children").read_text().split()]


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent has not waited for it yet


def until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "still waiting"
        time.sleep(0.1)


def test_a_killed_worker_is_started_again_and_the_stack_goes_on(stack):
    rest = Rest(stack.api)
    mid = rest.create("Before")["meeting"]["id"]
    ada, bob = rest.join(mid, "Ada"), rest.join(mid, "Bob")
    [worker] = workers_of(stack.current.pid)
    os.kill(worker, signal.SIGKILL)
    until(lambda: "exited with code -9; starting it again" in stack.log_tail())

    assert rest.create("After")["meeting"]["id"]  # waits for the new worker
    with bob.connect() as socket:  # $connect, the ticket route and its pushes: the new one
        sent = ada.send_ticket(bob)
        socket.wait_for(ticket(sent["id"]))
    [again] = workers_of(stack.current.pid)
    assert again != worker and running(again)
    assert stack.health()["workers"] == {"running": 1, "of": 1, "restarts": 1}


def test_no_worker_outlives_the_stack(stack):
    [worker] = workers_of(stack.current.pid)
    stack.stop()  # SIGTERM: the stack stops its worker
    assert not running(worker)

    stack.start()
    [worker] = workers_of(stack.current.pid)
    stack.stop(signal.SIGKILL)  # nobody stops it: the parent-death signal does
    until(lambda: not running(worker), timeout=30)
