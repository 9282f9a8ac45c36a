# mypy: ignore-errors
"""Runs inside the ``aliyun-mns-sdk`` 1.3.0 environment (``.venvs/mns130``); driven by ``bench/mq.py``.

Modes (the server comes from ``MNS_URL``, the key from ``AK``/``SK``; the last stdout line is
``RESULT <json>``, since the SDK may print on its own):

* ``create QUEUE...``: create the queues (default attributes).
* ``cycle QUEUE BATCH START_AT DURATION``: from the epoch time ``START_AT`` for ``DURATION`` seconds, repeat
  send ``BATCH`` messages, receive up to ``BATCH`` (long poll 1 s), delete what was received (batch calls
  when ``BATCH`` > 1). Reports the messages that went through all three operations.
* ``wake QUEUE SAMPLES``: a receiver process blocked in a long poll on the empty queue and a sender process;
  the sender sends ``time.time()`` as the body once the receiver is back in its poll; the receiver reports
  ``time.time()`` at its return minus that. Both clocks are the one machine's.
"""

import json
import multiprocessing as mp
import os
import random
import sys
import time

from mns.account import Account
from mns.mns_exception import MNSServerException
from mns.queue import Message, QueueMeta

URL, AK, SK = os.environ["MNS_URL"], os.environ["AK"], os.environ["SK"]
BODY = "x" * 100  # a small message: the figure is about per-message overhead, not bandwidth


def queue(name):
    q = Account(URL, AK, SK).get_queue(name)
    q.set_encoding(False)  # raw bodies, as the first document's worker does
    return q


def create(names):
    for name in names:
        queue(name).create(QueueMeta())
    return {"created": len(names)}


def cycle(name, batch, start_at, duration):
    q = queue(name)
    done = errors = 0
    time.sleep(max(0.0, start_at - time.time()))  # a benchmark barrier: every client starts together
    t0 = time.time()
    end = t0 + duration
    while time.time() < end:
        try:
            if batch == 1:
                q.send_message(Message(BODY))
                msg = q.receive_message(1)
                q.delete_message(msg.receipt_handle)
                done += 1
            else:
                q.batch_send_message([Message(BODY) for _ in range(batch)])
                msgs = q.batch_receive_message(batch, 1)
                q.batch_delete_message([m.receipt_handle for m in msgs])
                done += len(msgs)
        except MNSServerException as e:
            if e.type != "MessageNotExist":  # another client took them: not an error
                raise
            errors += 1
    return {"messages": done, "seconds": time.time() - t0, "empty_receives": errors}


def _receiver(name, samples, ready, out):
    q = queue(name)
    lat = []
    while len(lat) < samples:
        ready.set()
        try:
            msg = q.receive_message(5)
        except MNSServerException as e:
            if e.type == "MessageNotExist":
                continue
            raise
        t1 = time.time()
        lat.append((t1 - float(msg.message_body)) * 1000)
        q.delete_message(msg.receipt_handle)
    out.put(lat)


def wake(name, samples):
    ready, out = mp.Event(), mp.Queue()
    rx = mp.Process(target=_receiver, args=(name, samples, ready, out))
    rx.start()
    q = queue(name)
    for _ in range(samples):
        if not ready.wait(30):
            raise RuntimeError("receiver stalled")
        ready.clear()
        # Let the receiver's request reach the server and block there; jitter avoids any periodic alignment.
        time.sleep(random.uniform(0.015, 0.03))
        q.send_message(Message(repr(time.time())))
    lat = out.get(timeout=60)
    rx.join(10)
    return {"latencies_ms": lat}


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "create":
        res = create(args)
    elif mode == "cycle":
        res = cycle(args[0], int(args[1]), float(args[2]), float(args[3]))
    elif mode == "wake":
        res = wake(args[0], int(args[1]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print("RESULT " + json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
