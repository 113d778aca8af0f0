"""Run actions at the same moment, each in its own thread and so its own database
connection: what two workers, two browser tabs or two clerks do at once."""

import threading
from collections.abc import Callable


def at_once(*actions: Callable[[], object], timeout: float = 60) -> list[object]:
    """Start every action together (a barrier releases them) and wait for all of them.

    Returns, in the order given, what each action returned or the exception it raised,
    so a test asserts on every outcome. Each thread closes its connection when done."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[object] = [None] * len(actions)

    def run(index: int, action: Callable[[], object]) -> None:
        from django.db import connection

        try:
            barrier.wait(timeout=10)
            outcomes[index] = action()
        except BaseException as error:  # returned to the test, which asserts on it
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "an action did not finish"
    return outcomes
