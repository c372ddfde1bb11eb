"""Windows job objects: a student's whole process tree, ended as one.

On POSIX a program's tree is its process group (grader/_sandbox.py kills the group). Windows
has no such group that a kill reaches: ``taskkill /T`` walks the parent links, so a
grandchild whose parent has already exited is missed, and nothing at all is killed if the
grader itself is killed. A *job object* fixes both: every process the child starts joins
the child's job, ``TerminateJobObject`` ends them all whoever their parent was, and with
``JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`` Windows ends them when the last handle to the job
closes, which happens when the grader process ends in any way.

    contain(proc)   put a just-started child in a job of its own; a :class:`Job`, or None
                    off Windows or where the system refuses (the caller keeps its
                    portable fallback, taskkill)
    Job.terminate() end every process of the job and close it

The child is assigned right after ``Popen`` returns. Before that, only the Python
interpreter and then the grader's own launcher run in it (no student code has run yet), so
nothing can escape the job through that window.

Stdlib only (ctypes). The Win32 calls go through a ``kernel32`` object, so tests on any
system can hand in a fake that records them (tests/test_portable.py); on Windows it is the
real library.
"""

import ctypes
import os

#: JOBOBJECTINFOCLASS: JobObjectExtendedLimitInformation.
EXTENDED_LIMIT_INFORMATION = 9
#: JOBOBJECT_BASIC_LIMIT_INFORMATION.LimitFlags: end every process when the job's last
#: handle closes (the grader's, as it exits or is killed).
LIMIT_KILL_ON_JOB_CLOSE = 0x2000
#: The exit status Windows gives the processes a terminated job ends.
TERMINATED = 1


class _BasicLimits(ctypes.Structure):
    _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64),
                ("PerJobUserTimeLimit", ctypes.c_int64),
                ("LimitFlags", ctypes.c_uint32),
                ("MinimumWorkingSetSize", ctypes.c_size_t),
                ("MaximumWorkingSetSize", ctypes.c_size_t),
                ("ActiveProcessLimit", ctypes.c_uint32),
                ("Affinity", ctypes.c_size_t),
                ("PriorityClass", ctypes.c_uint32),
                ("SchedulingClass", ctypes.c_uint32)]


class _IoCounters(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
        "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]


class ExtendedLimits(ctypes.Structure):
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION, as SetInformationJobObject takes it."""
    _fields_ = [("BasicLimitInformation", _BasicLimits),
                ("IoInfo", _IoCounters),
                ("ProcessMemoryLimit", ctypes.c_size_t),
                ("JobMemoryLimit", ctypes.c_size_t),
                ("PeakProcessMemoryUsed", ctypes.c_size_t),
                ("PeakJobMemoryUsed", ctypes.c_size_t)]


class Job:
    """One job object holding one child's tree."""

    def __init__(self, kernel32, handle):
        self._kernel32 = kernel32
        self._handle = handle

    def terminate(self):
        """End every process in the job (grandchildren whose parent exited included) and
        close the job. Safe to call more than once."""
        handle, self._handle = self._handle, None
        if handle:
            self._kernel32.TerminateJobObject(handle, TERMINATED)
            self._kernel32.CloseHandle(handle)


def _kernel32():
    library = ctypes.WinDLL("kernel32", use_last_error=True)
    library.CreateJobObjectW.restype = ctypes.c_void_p
    library.CreateJobObjectW.argtypes = (ctypes.c_void_p, ctypes.c_wchar_p)
    library.SetInformationJobObject.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                                ctypes.c_uint32)
    library.AssignProcessToJobObject.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
    library.TerminateJobObject.argtypes = (ctypes.c_void_p, ctypes.c_uint)
    library.CloseHandle.argtypes = (ctypes.c_void_p,)
    return library


def contain(proc, kernel32=None):
    """Put ``proc`` (a just-started ``subprocess.Popen``) in a new job that ends with the
    grader. Returns the :class:`Job`, or None where there are no job objects (not Windows)
    or the system refused one (the caller's taskkill fallback then stands)."""
    if kernel32 is None:
        if os.name != "nt":
            return None
        kernel32 = _kernel32()
    handle = kernel32.CreateJobObjectW(None, None)
    if not handle:
        return None
    limits = ExtendedLimits()
    limits.BasicLimitInformation.LimitFlags = LIMIT_KILL_ON_JOB_CLOSE
    if not (kernel32.SetInformationJobObject(handle, EXTENDED_LIMIT_INFORMATION,
                                             ctypes.byref(limits), ctypes.sizeof(limits))
            and kernel32.AssignProcessToJobObject(handle, int(proc._handle))):
        kernel32.CloseHandle(handle)
        return None
    return Job(kernel32, handle)
