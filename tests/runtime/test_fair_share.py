"""The model workers' slots, shared by recent use: a busy client address does not hold them."""

from __future__ import annotations

import asyncio

from runtime.fair_share import FairShare


async def _hold(share: FairShare, key: str, order: list[str], seconds: float = 0.02) -> None:
    async with share.slot(key):
        order.append(key)
        await asyncio.sleep(seconds)


async def test_a_slot_is_taken_at_once_when_free_whatever_the_use():
    share = FairShare(slots=1)
    order: list[str] = []
    for _ in range(3):
        await _hold(share, "busy", order)
    assert order == ["busy"] * 3 and share.used("busy") > 0.05


async def test_a_quiet_address_goes_before_a_busy_one_queued_earlier():
    share = FairShare(slots=1)
    order: list[str] = []
    await _hold(share, "busy", order)  # "busy" has used the slot already
    tasks = [asyncio.create_task(_hold(share, "busy", order)) for _ in range(4)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(_hold(share, "quiet", order)))
    await asyncio.gather(*tasks)
    # The first of busy's four took the free slot; quiet comes next, before the other three.
    assert order == ["busy", "busy", "quiet", "busy", "busy", "busy"]


async def test_addresses_with_no_use_go_in_order_of_arrival():
    share = FairShare(slots=1)
    order: list[str] = []
    await _hold(share, "a", order)
    tasks = [asyncio.create_task(_hold(share, key, order)) for key in ("a1", "a2", "a3")]
    await asyncio.gather(*tasks)
    assert order == ["a", "a1", "a2", "a3"]


async def test_use_decays_so_a_past_burst_is_not_held_against_a_client():
    now = [0.0]
    share = FairShare(slots=1, half_life_s=10, clock=lambda: now[0])
    share._charge("a", 8.0)
    now[0] = 10.0
    assert abs(share.used("a") - 4.0) < 1e-9
    now[0] = 1000.0
    share._charge("b", 1.0)  # a while later: the table forgets "a"
    assert "a" not in share.use


async def test_a_cancelled_waiter_gives_its_turn_to_the_next():
    share = FairShare(slots=1)
    order: list[str] = []
    holder = asyncio.create_task(_hold(share, "a", order, 0.05))
    await asyncio.sleep(0)
    gone = asyncio.create_task(_hold(share, "b", order))
    waiting = asyncio.create_task(_hold(share, "c", order))
    await asyncio.sleep(0.01)
    gone.cancel()
    await asyncio.gather(holder, waiting)
    assert order == ["a", "c"] and share.free == 1


async def test_one_address_messages_keep_their_order_while_its_use_decays():
    """The decay is read once per hand-out: the clock moves between two reads, and a later read
    must not make a newer message of the same address look less used (it starved the older)."""
    ticks = iter(range(10**6))
    share = FairShare(slots=1, clock=lambda: next(ticks) * 0.001)  # moves at every reading
    served: list[int] = []

    async def hold(label: int) -> None:
        async with share.slot("a"):
            served.append(label)
            await asyncio.sleep(0.001)

    await hold(-1)  # "a" has some use
    await asyncio.gather(*(hold(i) for i in range(8)))
    assert served == [-1, *range(8)]


async def test_a_waiter_cancelled_as_a_slot_frees_neither_gets_it_nor_loses_it():
    """Cancelling a waiting task cancels the future it waits on at once, but it leaves the queue
    only when it resumes: a release in between must pass over it, and the slot stays usable."""
    share = FairShare(slots=1)
    order: list[str] = []
    await _hold(share, "a", order)
    holder_done = asyncio.Event()

    async def holder() -> None:
        async with share.slot("a"):
            await holder_done.wait()

    holding = asyncio.create_task(holder())
    await asyncio.sleep(0)
    gone = asyncio.create_task(_hold(share, "b", order))
    await asyncio.sleep(0)
    holder_done.set()  # the holder resumes first and releases ...
    gone.cancel()  # ... while "b", its future cancelled, is still in the queue
    await asyncio.gather(holding, gone, return_exceptions=True)
    await asyncio.wait_for(_hold(share, "c", order), 5)  # the slot was not lost
    assert order == ["a", "c"] and share.free == 1 and not share.waiting
