"""How many visitors `handdigit app` serves at once, and for how long.

Every visitor of the app gets a Python kernel (about 200 MB here). Voila's own limits are not
limits: a kernel still starting is not counted, so a burst of page loads starts as many kernels
as there are loads, and a visitor who clicks now and then keeps theirs past any idle timeout.
`BoundedKernelManager` is the kernel manager the app gives Voila instead:
- a kernel counts from the moment it is requested, so `max_sessions` holds under a burst;
- a memory budget caps them too: never more than `memory_budget_mb / kernel_mb` kernels, and no new
  one while the machine has less than twice `kernel_mb` available;
- a kernel whose visitor has not drawn for `idle_minutes` is shut down: drawing is what the pad in
  the kernel notes (handdigit.pad.activity: a stroke that moves, an upload, a test digit), not any
  message (Jupyter's own culling counted a click on a button every few seconds as activity);
- every kernel is shut down `session_minutes` after it started, whatever it does (a script can
  draw as well as a person: this is the bound that holds).
A visitor turned away gets Voila's error page with one sentence saying why.
"""

import time
import uuid

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from tornado.ioloop import PeriodicCallback
from traitlets import Float, Integer, Unicode

from handdigit.pad.activity import last_drawing

FULL = "HandDigit is full: {sessions} people are drawing right now. Please try again in a few minutes."
LOW_MEMORY = "HandDigit is out of memory for another visitor right now. Please try again in a few minutes."


def available_memory_mb():
    """MemAvailable from /proc/meminfo in MiB (None where there is no /proc)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


class BoundedKernelManager(AsyncMappingKernelManager):
    """AsyncMappingKernelManager with a session cap that counts starting kernels, a memory budget
    and a hard session lifetime (see the module docstring)."""

    max_sessions = Integer(8, config=True, help="kernels at most, those still starting included")
    memory_budget_mb = Integer(4096, config=True, help="memory the visitors' kernels may take in all")
    kernel_mb = Integer(250, config=True, help="what one visitor's kernel takes (measured: about 200 MB)")
    session_minutes = Float(60.0, config=True, help="a kernel's longest life, busy or not")
    idle_minutes = Float(
        0.0, config=True, help="end a kernel whose visitor has not drawn for this long (0: off)"
    )
    activity_dir = Unicode("", config=True, help="where the pads note drawing (handdigit.pad.activity)")
    check_seconds = Float(30.0, config=True, help="how often kernels past their time are ended")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._starting = set()  # kernel ids requested and not yet started
        self._born = {}  # kernel id: time.time() when it was requested
        self._lifetime_checker = None

    @property
    def session_cap(self):
        return max(1, min(self.max_sessions, self.memory_budget_mb // max(1, self.kernel_mb)))

    def sessions(self):
        """Kernels running or starting."""
        return len(set(self.list_kernel_ids()) | self._starting)

    def refusal(self):
        """Why a new visitor cannot get a kernel now (one sentence), or None."""
        if self.sessions() >= self.session_cap:
            return FULL.format(sessions=self.session_cap)
        available = available_memory_mb()
        if available is not None and available < 2 * self.kernel_mb:
            return LOW_MEMORY
        return None

    async def _async_start_kernel(self, *, kernel_id=None, path=None, **kwargs):
        if kernel_id is not None and kernel_id in self:
            return await super()._async_start_kernel(kernel_id=kernel_id, path=path, **kwargs)
        reason = self.refusal()
        if reason is not None:
            self.log.warning("HandDigit: a visitor was turned away: %s", reason)
            raise web.HTTPError(503, reason, reason=reason)
        kernel_id = kernel_id or str(uuid.uuid4())
        self._starting.add(kernel_id)  # counted from now: the check above and this run in one step
        self._born[kernel_id] = time.time()
        try:
            return await super()._async_start_kernel(kernel_id=kernel_id, path=path, **kwargs)
        except BaseException:
            self._born.pop(kernel_id, None)
            raise
        finally:
            self._starting.discard(kernel_id)
            self._start_lifetime_checker()

    start_kernel = _async_start_kernel

    def _start_lifetime_checker(self):
        if self._lifetime_checker is None and (self.session_minutes > 0 or self.idle_minutes > 0):
            self._lifetime_checker = PeriodicCallback(self.end_expired_sessions, 1000 * self.check_seconds)
            self._lifetime_checker.start()

    def expired(self, kernel_id, now):
        """Why the kernel's session is over ("lifetime" or "idle"), or None."""
        born = self._born[kernel_id]
        if self.session_minutes > 0 and now - born > 60 * self.session_minutes:
            return "lifetime"
        if self.idle_minutes > 0:
            drawn = last_drawing(self.activity_dir, kernel_id) if self.activity_dir else None
            if now - max(born, drawn or born) > 60 * self.idle_minutes:
                return "idle"
        return None

    async def end_expired_sessions(self):
        """Shut down every kernel past its lifetime or idle time; returns {kernel id: why}."""
        now, running = time.time(), set(self.list_kernel_ids())
        for kernel_id in [kernel_id for kernel_id in self._born if kernel_id not in running | self._starting]:
            del self._born[kernel_id]  # ended some other way (Jupyter's culling, the visitor left)
        ended = {}
        for kernel_id in [kernel_id for kernel_id in self._born if kernel_id in running]:
            reason = self.expired(kernel_id, now)
            if reason is None:
                continue
            self.log.info("HandDigit: ending session %s (%s)", kernel_id, reason)
            self._born.pop(kernel_id, None)
            ended[kernel_id] = reason
            await self.shutdown_kernel(kernel_id)
        return ended
