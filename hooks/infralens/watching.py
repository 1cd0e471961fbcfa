"""The file watcher under `mkdocs serve`: told of a save by the operating system where it can be,
polling where it cannot.

MkDocs polls every 0.5 s, and waiting for the next poll is a good part of the time from saving a
starter to seeing it; a poll also costs more as a project grows (63 ms of CPU for 300 labs). On
a local disk the kernel reports a save at once (inotify on Linux, FSEvents on macOS, and so on).
Network and shared-folder filesystems (NFS, SMB, a container's host folder) may never report a
change made on the other side, so there the watcher polls, as often as stays cheap.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import watchdog.observers
import watchdog.observers.polling
from mkdocs.livereload import LiveReloadServer
from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import ObservedWatch

POLL_SECONDS = (0.1, 0.5)  # the polling interval: at most MkDocs' own 0.5 s, at least 0.1 s
POLL_SHARE = 0.03  # the share of one core polling may spend taking snapshots
POLL_ENV = "INFRALENS_POLL_SECONDS"  # poll at this interval, even on a local disk
# Filesystems whose changes the kernel reports to a watcher on this machine.
LOCAL_FILESYSTEMS = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "tmpfs", "overlay",
                               "apfs", "hfs"})
# What a save does. Not opening or reading a file: a build reads every watched file, and MkDocs
# rebuilds on any event, so reporting reads would start a new build after each one.
CHANGES: list[type[FileSystemEvent]] = [FileCreatedEvent, FileModifiedEvent, FileDeletedEvent, FileMovedEvent,
                                        FileClosedEvent]


class ChangeObserver(watchdog.observers.Observer):  # type: ignore[misc,valid-type]
    """The platform's native observer, told to report changes only."""

    def schedule(self, event_handler: FileSystemEventHandler, path: str | Path, *, recursive: bool = False,
                 event_filter: list[type[FileSystemEvent]] | None = None,
                 follow_symlink: bool = False) -> ObservedWatch:
        return super().schedule(event_handler, path, recursive=recursive, event_filter=event_filter or CHANGES,
                                follow_symlink=follow_symlink)


def filesystem_type(path: str, mounts: str | None = None) -> str | None:
    """The type of the filesystem `path` is on, from /proc/self/mounts (None where there is none)."""
    if mounts is None:
        try:
            mounts = Path("/proc/self/mounts").read_text(encoding="utf-8")
        except OSError:
            return None
    real, best, kind = os.path.realpath(path), "", None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def notified_locally(paths: Iterable[str]) -> bool:
    """Whether the kernel can be trusted to report changes to all of `paths`: a local filesystem
    on Linux (read from the mount table), or macOS's own disks."""
    if os.environ.get(POLL_ENV):
        return False
    if sys.platform == "darwin":
        return all(not os.path.realpath(path).startswith("/Volumes/") for path in paths)
    if not sys.platform.startswith("linux"):
        return False
    return all(filesystem_type(path) in LOCAL_FILESYSTEMS for path in paths)


def poll_interval(paths: Iterable[str]) -> float:
    """Seconds between snapshots of `paths`: as often as keeps their cost under POLL_SHARE of a
    core, within POLL_SECONDS (a project of a few hundred labs stays at 0.5 s)."""
    if fixed := os.environ.get(POLL_ENV):
        return float(fixed)
    started = time.process_time()
    for path in paths:
        _stat_tree(path)  # what each poll does: a stat of every file watched
    cost = 2 * (time.process_time() - started)  # watchdog's snapshot and comparison: about twice a bare walk
    low, high = POLL_SECONDS
    return min(high, max(low, cost / POLL_SHARE))


def _stat_tree(path: str) -> None:
    try:
        entries = list(os.scandir(path))
    except (NotADirectoryError, FileNotFoundError):
        return
    for entry in entries:
        entry.stat(follow_symlinks=False)
        if entry.is_dir(follow_symlinks=False):
            _stat_tree(entry.path)


def watch_sooner(server: LiveReloadServer, paths: Iterable[str]) -> str | None:
    """Give MkDocs' live-reload server a watcher that sees a save sooner than its 0.5 s poll,
    keeping what it already watches. Called from `on_serve`, before the watcher starts; returns
    how it now watches, for the log, or None if left as it was."""
    old: Any = getattr(server, "observer", None)
    if type(old).__name__ != "PollingObserver" or old.is_alive():
        return None  # not the watcher this was written for, or already watching
    paths = list(paths)
    watched = _unwatch_all(server, old)
    if notified_locally([path for path, _ in watched] or paths) and _can_watch(watched):
        server.observer, how = ChangeObserver(), "told of each save by the operating system"
    else:
        interval = poll_interval(paths)
        server.observer = watchdog.observers.polling.PollingObserver(timeout=interval)
        how = f"polling for changes every {interval:.2f} s"
    for path, recursive in watched:
        server.watch(path, recursive=recursive)
    return how


def _can_watch(watched: list[tuple[str, bool]]) -> bool:
    """Whether the kernel takes watches on all of these now. A watch is set up when its observer
    starts, so a limit (Linux's number of inotify watches, say) would stop `mkdocs serve` there:
    try it first with an observer of our own."""
    probe = ChangeObserver()
    try:
        for path, recursive in watched:
            probe.schedule(FileSystemEventHandler(), path, recursive=recursive)
        probe.start()
    except OSError:
        return False
    finally:
        if probe.is_alive():
            probe.stop()
            probe.join()
    return True


def _unwatch_all(server: LiveReloadServer, observer: Any) -> list[tuple[str, bool]]:
    watched = []
    for emitter in list(observer.emitters):
        path, recursive, count = emitter.watch.path, emitter.watch.is_recursive, 0
        while True:  # a path watched twice is unwatched twice, then watched twice again
            try:
                server.unwatch(path)
            except KeyError:
                break
            count += 1
        watched += [(path, recursive)] * count
    return watched
