#!/usr/bin/env python3
"""Does a file system that fails lose commits it acknowledged? (RELIABILITY.md, read-only phase)

Each trial: a fresh 32 MB ext4 image mounted `loop,errors=remount-ro`, an SQLite store in WAL mode
with `synchronous = FULL` (as candor's outbox commits), a writer thread committing rows one by
one, and after each acknowledged commit a second synced commit that confirms it (as
`outbox::begin_attempt` does before a send). At a random moment the file system fails the way
a failing disk makes it (ext4's `trigger_fs_error`: the journal is aborted, the file system turns
read-only). Then the operator's repair: unmount, `e2fsck -fy`, mount; and the count of
acknowledged and of confirmed commits that are gone.

Usage: sudo campaigns/fs_ack_loss.py [TRIALS]   (default 40; about 1 s per trial)
Needs root, mkfs.ext4, e2fsck and loop devices. Prints one line per trial that lost something and
a summary; exit 1 when a confirmed commit was lost.
"""

import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True)


def trial(work):
    image, mnt = os.path.join(work, "store.ext4"), os.path.join(work, "mnt")
    os.makedirs(mnt, exist_ok=True)
    run("truncate", "-s", "32M", image)
    run("mkfs.ext4", "-q", "-F", image)
    run("mount", "-o", "loop,errors=remount-ro", image, mnt)
    db = sqlite3.connect(os.path.join(mnt, "t.db"), isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x BLOB)")
    db.execute("CREATE TABLE probe (n INTEGER)")
    db.execute("INSERT INTO probe VALUES (0)")
    for _ in range(300):
        db.execute("INSERT INTO t (x) VALUES (?)", (os.urandom(700),))
    acknowledged, confirmed, stop = [], [], threading.Event()

    def writer():
        i = 1000
        while not stop.is_set():
            i += 1
            try:
                db.execute("INSERT INTO t (id, x) VALUES (?, ?)", (i, os.urandom(300)))
            except sqlite3.Error:
                continue
            acknowledged.append(i)
            try:
                db.execute("UPDATE probe SET n = n + 1")
            except sqlite3.Error:
                continue
            confirmed.append(i)

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(random.uniform(0.05, 0.5))
    device = run("findmnt", "-n", "-o", "SOURCE", mnt).stdout.strip().rsplit("/", 1)[-1]
    with open(f"/sys/fs/ext4/{device}/trigger_fs_error", "w") as f:
        f.write("candor fs_ack_loss")
    time.sleep(0.3)
    stop.set()
    thread.join()
    db.close()
    run("umount", mnt)
    fsck = subprocess.run(["e2fsck", "-f", "-y", image], capture_output=True, text=True)
    run("mount", "-o", "loop", image, mnt)
    db = sqlite3.connect(os.path.join(mnt, "t.db"))
    kept = {row[0] for row in db.execute("SELECT id FROM t WHERE id > 1000")}
    db.close()
    run("umount", mnt)
    journal = [line for line in fsck.stdout.splitlines() if "journal" in line.lower()]
    return (
        [i for i in acknowledged if i not in kept],
        [i for i in confirmed if i not in kept],
        len(acknowledged),
        journal,
    )


def main():
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    if os.geteuid() != 0:
        sys.exit("fs_ack_loss: needs root (mount, loop devices): run it with sudo")
    lost_ack = lost_confirmed = 0
    with tempfile.TemporaryDirectory(prefix="candor-ack-") as work:
        for n in range(1, trials + 1):
            ack, conf, commits, journal = trial(work)
            lost_ack += bool(ack)
            lost_confirmed += bool(conf)
            if ack or conf:
                print(f"trial {n}: {commits} acknowledged commits; lost after the repair: "
                      f"acknowledged {ack}, confirmed {conf}; e2fsck: {journal}")
    print(f"{trials} trials: an acknowledged commit lost in {lost_ack}, "
          f"a confirmed commit lost in {lost_confirmed}")
    sys.exit(1 if lost_confirmed else 0)


if __name__ == "__main__":
    main()
