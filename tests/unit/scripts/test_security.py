"""keepalived's script security rules on fabricated file trees."""

from __future__ import annotations

import stat as st

import pytest

from pykeepalived.actors.script_policy import (
    FileInfo,
    check_script,
    is_executable,
    script_identity,
    security_violation,
)

DIR = st.S_IFDIR | 0o755
TMP = st.S_IFDIR | 0o1777
EXE = st.S_IFREG | 0o755


class FakeFs:
    def __init__(self, tree: dict[str, FileInfo], links: dict[str, str] | None = None) -> None:
        self.tree = {"/": FileInfo(DIR, 0, 0), **tree}
        self.links = links or {}

    def lstat(self, path: str) -> FileInfo | None:
        if path in self.links:
            return FileInfo(st.S_IFLNK | 0o777, 0, 0)
        return self.tree.get(path)

    def stat(self, path: str) -> FileInfo | None:
        return self.tree.get(self.links.get(path, path))

    def realpath(self, path: str) -> str | None:
        target = self.links.get(path, path)
        return target if target in self.tree else None


def root_tree(**extra: FileInfo) -> dict[str, FileInfo]:
    base = {
        "/etc": FileInfo(DIR, 0, 0),
        "/etc/keepalived": FileInfo(DIR, 0, 0),
        "/etc/keepalived/notify.sh": FileInfo(EXE, 0, 0),
        "/usr": FileInfo(DIR, 0, 0),
        "/usr/bin": FileInfo(DIR, 0, 0),
        "/usr/bin/logger": FileInfo(EXE, 0, 0),
        "/tmp": FileInfo(TMP, 0, 0),
    }
    base.update(extra)
    return base


def test_safe_root_script_runs() -> None:
    v = check_script(("/etc/keepalived/notify.sh", "x"), 0, 0, True, FakeFs(root_tree()))
    assert v.runnable and not v.insecure and v.is_script and v.messages == ()
    assert v.argv == ("/etc/keepalived/notify.sh", "x")


@pytest.mark.parametrize(
    ("path", "info"),
    [
        ("/etc/keepalived/notify.sh", FileInfo(st.S_IFREG | 0o757, 0, 0)),  # world-writable
        ("/etc/keepalived/notify.sh", FileInfo(st.S_IFREG | 0o775, 0, 100)),  # group 100 w
        ("/etc/keepalived/notify.sh", FileInfo(EXE, 1000, 0)),  # owned by a user
        ("/etc/keepalived", FileInfo(st.S_IFDIR | 0o777, 0, 0)),  # writable directory
        ("/etc/keepalived", FileInfo(DIR, 1000, 1000)),  # directory owned by a user
    ],
)
def test_unsafe_paths_are_refused_with_script_security(path: str, info: FileInfo) -> None:
    fs = FakeFs(root_tree(**{path: info}))
    v = check_script(("/etc/keepalived/notify.sh",), 0, 0, True, fs)
    assert not v.runnable and v.insecure
    assert v.messages[-1] == (
        "Unsafe permissions found for script '/etc/keepalived/notify.sh' - disabling."
    )
    # without enable_script_security keepalived runs it and only reports
    v2 = check_script(("/etc/keepalived/notify.sh",), 0, 0, False, fs)
    assert v2.runnable and v2.insecure
    assert v2.messages[-1] == "Unsafe permissions found for script '/etc/keepalived/notify.sh'."


def test_group_writable_by_root_group_and_sticky_dirs_are_safe() -> None:
    fs = FakeFs(root_tree(**{
        "/etc/keepalived/notify.sh": FileInfo(st.S_IFREG | 0o775, 0, 0),
        "/tmp/s.sh": FileInfo(EXE, 0, 0),
    }))  # fmt: skip
    assert check_script(("/etc/keepalived/notify.sh",), 0, 0, True, fs).runnable
    assert check_script(("/tmp/s.sh",), 0, 0, True, fs).runnable


def test_non_root_script_user_needs_no_protection() -> None:
    fs = FakeFs(root_tree(**{"/tmp/s.sh": FileInfo(st.S_IFREG | 0o777, 1000, 1000)}))
    v = check_script(("/tmp/s.sh",), 1000, 1000, True, fs)
    assert v.runnable and not v.insecure


def test_setuid_root_file_needs_protection_even_for_a_user() -> None:
    fs = FakeFs(root_tree(**{
        "/opt": FileInfo(st.S_IFDIR | 0o777, 0, 0),
        "/opt/s": FileInfo(st.S_IFREG | 0o4755, 0, 0),
    }))  # fmt: skip
    v = check_script(("/opt/s",), 1000, 1000, True, fs)
    assert not v.runnable and v.insecure


def test_not_executable_for_the_user_is_disabled() -> None:
    fs = FakeFs(root_tree(**{"/tmp/s.sh": FileInfo(st.S_IFREG | 0o744, 0, 0)}))
    v = check_script(("/tmp/s.sh",), 1000, 1000, False, fs)
    assert not v.runnable
    assert v.messages[-1] == (
        "WARNING - script '/tmp/s.sh' is not executable for uid:gid 1000:1000 - disabling."
    )


def test_missing_script_and_path_search() -> None:
    fs = FakeFs(root_tree())
    v = check_script(("/nope.sh",), 0, 0, True, fs)
    assert not v.runnable and "cannot be accessed" in v.messages[-1]
    v = check_script(("logger", "-t", "ka"), 0, 0, True, fs, "/usr/local/bin:/usr/bin")
    assert v.runnable and v.argv == ("/usr/bin/logger", "-t", "ka")
    assert v.messages[0].startswith("WARNING - script `logger` resolved by path search")
    v = check_script(("nothere",), 0, 0, True, fs, "/usr/bin")
    assert not v.runnable and v.messages == ("Cannot find script nothere in path - disabling",)


def test_symlink_checks_the_real_file_too() -> None:
    fs = FakeFs(
        root_tree(**{
            "/home": FileInfo(DIR, 0, 0),
            "/home/u": FileInfo(DIR, 1000, 1000),
            "/home/u/real.sh": FileInfo(EXE, 1000, 1000),
        }),
        links={"/etc/keepalived/notify.sh": "/home/u/real.sh"},
    )  # fmt: skip
    v = check_script(("/etc/keepalived/notify.sh",), 0, 0, True, fs)
    assert not v.runnable and v.insecure
    assert v.argv[0] == "/home/u/real.sh"


def test_file_test_form_is_not_checked() -> None:
    v = check_script(("</etc/ready",), 0, 0, True, FakeFs({}))
    assert v.runnable and v.shell_test and not v.is_script


def test_is_executable_classes() -> None:
    f = FileInfo(st.S_IFREG | 0o701, 10, 20)
    assert is_executable(f, 0, 0)  # root: any x bit
    assert is_executable(f, 10, 99)  # owner x
    assert not is_executable(FileInfo(st.S_IFREG | 0o070, 10, 20), 10, 20)  # owner class only
    assert not is_executable(f, 11, 20)  # group without x
    assert is_executable(f, 11, 21)  # other x


def test_identity_resolution() -> None:
    users = {"root": (0, 0), "nobody": (65534, 65534), "keepalived_script": (900, 900)}
    groups = {"wheel": 10}

    def ident(user: str | None, group: str | None, dflt: str | None, sec: bool, *,
              ks: bool = True) -> tuple[int, int, str | None]:  # fmt: skip
        table = users if ks else {k: v for k, v in users.items() if k != "keepalived_script"}
        i = script_identity(user, group, dflt, None, sec, table.get, groups.get, (0, 0))
        return i.uid, i.gid, i.error

    assert ident("nobody", "wheel", None, False) == (65534, 10, None)
    assert ident(None, None, "nobody", True) == (65534, 65534, None)
    assert ident(None, None, None, True) == (900, 900, None)
    assert ident(None, None, None, False, ks=False) == (0, 0, None)
    assert ident(None, None, None, True, ks=False)[2] == (
        "Unable to set default user keepalived_script for script"
    )
    assert ident("ghost", None, None, False)[2] == "Script user 'ghost' does not exist"
    assert ident("nobody", "ghosts", None, False)[2] == "Script group 'ghosts' does not exist"


def test_security_violation_line() -> None:
    assert security_violation(True, False, False) == (
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
    )
    assert security_violation(True, True, False).endswith(" There are insecure scripts.")
    assert security_violation(True, True, True) == ""
    assert security_violation(False, False, False) == ""


def test_directories_must_let_the_script_user_in() -> None:
    fs = FakeFs(root_tree(**{
        "/root": FileInfo(st.S_IFDIR | 0o700, 0, 0),
        "/root/s.sh": FileInfo(EXE, 0, 0),
    }))  # fmt: skip
    v = check_script(("/root/s.sh",), 1000, 1000, True, fs)
    assert not v.runnable
    assert v.messages == ("Script /root/s.sh cannot be accessed - Permission denied",)
    assert check_script(("/root/s.sh",), 0, 0, True, fs).runnable
