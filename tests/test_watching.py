"""The watcher under `mkdocs serve`: the kernel's reports on a local disk, changes only (a build
reads every file it watches), and polling where reports may never come."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from infralens import watching
from watchdog.events import FileSystemEvent, FileSystemEventHandler

MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
server:/export /home/me/shared nfs4 rw 0 0
grpcfuse /home/me/shared/local\\040copy fuse.grpcfuse rw 0 0
tmpfs /tmp tmpfs rw 0 0
"""


def test_the_filesystem_of_a_path_is_its_longest_mount_point():
    assert watching.filesystem_type("/home/me/site", MOUNTS) == "ext4"
    assert watching.filesystem_type("/home/me/shared/site", MOUNTS) == "nfs4"
    assert watching.filesystem_type("/home/me/shared/local copy/site", MOUNTS) == "fuse.grpcfuse"
    assert watching.filesystem_type("/home/me/sharedness", MOUNTS) == "ext4", "a prefix of a name is not a mount"


def test_polling_is_chosen_off_local_disks_or_when_asked(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(watching, "filesystem_type", lambda path, mounts=None: "nfs4")
    monkeypatch.setattr(sys, "platform", "linux")
    assert not watching.notified_locally([str(tmp_path)])
    monkeypatch.setattr(watching, "filesystem_type", lambda path, mounts=None: "ext4")
    assert watching.notified_locally([str(tmp_path)])
    monkeypatch.setenv(watching.POLL_ENV, "0.2")
    assert not watching.notified_locally([str(tmp_path)])
    assert watching.poll_interval([str(tmp_path)]) == 0.2


class Recorder(FileSystemEventHandler):
    def __init__(self) -> None:
        self.events: list[FileSystemEvent] = []
        self.seen = threading.Event()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.events.append(event)
            self.seen.set()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's reports are tested with inotify")
def test_reading_a_file_is_not_reported_and_saving_it_is(tmp_path: Path):
    starter = tmp_path / "starter.py"
    starter.write_text("x = 1\n", encoding="utf-8")
    recorder, observer = Recorder(), watching.ChangeObserver()
    observer.schedule(recorder, str(tmp_path), recursive=True)
    observer.start()
    try:
        time.sleep(0.2)
        starter.read_text(encoding="utf-8")  # what a build does to every file it watches
        assert not recorder.seen.wait(1.0), f"a read was reported: {recorder.events}"
        saved = time.perf_counter()
        starter.write_text("x = 2\n", encoding="utf-8")
        assert recorder.seen.wait(5.0), "a save was not reported"
        assert time.perf_counter() - saved < 0.5, "reported at once, not at the next poll"
    finally:
        observer.stop()
        observer.join()


def _server(root: Path):
    from mkdocs.livereload import LiveReloadServer

    server = LiveReloadServer(builder=lambda: None, host="127.0.0.1", port=0, root=str(root))
    server.watch(str(root))
    return server


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's reports are tested with inotify")
def test_serve_watches_with_the_kernel_or_polls_when_it_takes_no_more_watches(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(watching, "notified_locally", lambda paths: True)
    told = _server(tmp_path)
    assert watching.watch_sooner(told, [str(tmp_path)]) == "told of each save by the operating system"
    assert isinstance(told.observer, watching.ChangeObserver)
    assert [e.watch.path for e in told.observer.emitters] == [str(tmp_path)]

    def no_more_watches(self: object) -> None:
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watching.ChangeObserver, "start", no_more_watches)
    polled = _server(tmp_path)
    assert (watching.watch_sooner(polled, [str(tmp_path)]) or "").startswith("polling for changes every")
    assert type(polled.observer).__name__ == "PollingObserver"
    assert [e.watch.path for e in polled.observer.emitters] == [str(tmp_path)]
