"""A small seccomp filter for the code sandbox (x86_64): fewer kernel doors for the
candidate than an ordinary unprivileged process has.

Why: namespaces, a read-only view and a throwaway uid already keep the candidate away from
the host, but the kernel interface is the remaining attack surface. Benchmark code has no
use for new namespaces (a root-started sandbox has no user namespace of its own, so
without this the candidate could create one and get capabilities inside it), mounting,
tracing other processes, loading BPF or kernel modules, keyrings, io_uring or
userfaultfd, the usual ingredients of kernel exploits. Those calls fail with EPERM.
``clone3`` fails with ENOSYS (its flags sit in memory a filter cannot read), so the C
library falls back to ``clone``, whose namespace flags are checked. Other architectures,
and the x32 / i386 system call tables on x86_64, are refused outright.

bubblewrap loads the filter (``--seccomp FD``) just before it starts the runner; it holds
for the runner and everything the candidate starts.
"""

from __future__ import annotations

import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000
_EPERM, _ENOSYS = 1, 38
_CLONE, _CLONE3 = 56, 435
_NEW_NAMESPACES = (0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
                   | 0x20000000 | 0x40000000 | 0x00000080)  # CLONE_NEW{NS,CGROUP,...,TIME}
DENIED: dict[str, int] = {
    "ptrace": 101, "syslog": 103, "pivot_root": 155, "chroot": 161, "acct": 163,
    "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169,
    "iopl": 172, "ioperm": 173, "init_module": 175, "delete_module": 176, "quotactl": 179,
    "lookup_dcookie": 212, "kexec_load": 246, "add_key": 248, "request_key": 249,
    "keyctl": 250, "unshare": 272, "perf_event_open": 298, "name_to_handle_at": 303,
    "open_by_handle_at": 304, "setns": 308, "process_vm_readv": 310,
    "process_vm_writev": 311, "finit_module": 313, "kexec_file_load": 320, "bpf": 321,
    "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
}
# Classic BPF opcodes.
_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data


def filter_program() -> bytes | None:
    """The filter as the raw ``struct sock_filter`` array bwrap reads, or None where it
    is not built (not x86_64): the sandbox then runs without this one layer."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    # Each row: (opcode, jump-if-true, jump-if-false, k); jumps are labels or 0.
    rows: list[tuple[int, int | str, int | str, int]] = [
        (_LD_ABS, 0, 0, _ARCH),
        (_JEQ, 1, 0, AUDIT_ARCH_X86_64),
        (_RET, 0, 0, _ERRNO | _EPERM),
        (_LD_ABS, 0, 0, _NR),
        (_JGE, "deny", 0, X32_SYSCALL_BIT),
        *[(_JEQ, "deny", 0, nr) for nr in sorted(DENIED.values())],
        (_JEQ, "enosys", 0, _CLONE3),
        (_JEQ, 0, "allow", _CLONE),
        (_LD_ABS, 0, 0, _ARG0),
        (_JSET, "deny", "allow", _NEW_NAMESPACES),
    ]
    labels = {"allow": len(rows), "deny": len(rows) + 1, "enosys": len(rows) + 2}
    rows += [(_RET, 0, 0, _ALLOW), (_RET, 0, 0, _ERRNO | _EPERM), (_RET, 0, 0, _ERRNO | _ENOSYS)]

    def offset(at: int, target: int | str) -> int:
        return target if isinstance(target, int) else labels[target] - at - 1

    return b"".join(struct.pack("=HBBI", code, offset(i, jt), offset(i, jf), k)
                    for i, (code, jt, jf, k) in enumerate(rows))
