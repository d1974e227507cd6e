"""vCPU scheduling policies for the hypervisor (pyhv.host): who runs next on a free pCPU.

Time is counted in guest instructions, so shares and caps are exact and
reproducible whatever the host's speed; wall-clock time is recorded beside it.

* RoundRobin: every runnable vCPU in turn, one slice each.
* Credit: Xen's credit scheduler (credit1: Cherkasova, Gupta, Vahdat, "Comparison of
  the three CPU schedulers in Xen", 2007; Xen's sched_credit.c semantics): each
  accounting period hands out credits in proportion to the weights; running costs
  credits; vCPUs with credit left (UNDER) run before those in debt (OVER); a vCPU
  that wakes from idle is BOOSTed for one slice; a cap (percent of one pCPU) parks
  a vCPU for the rest of the period once it has used its share.
"""

from collections import deque

HISTORY_PERIODS = 1000  # accounting periods kept in Credit.history (a ring: long runs stay flat)

BOOST, UNDER, OVER = 0, 1, 2
PRIORITY_NAMES = {BOOST: "boost", UNDER: "under", OVER: "over"}


class Policy:
    """The interface pyhv.host drives; all calls happen under the host's lock."""

    name = "policy"

    def __init__(self, slice_insns: int, pcpus: int):
        self.slice_insns = slice_insns
        self.pcpus = pcpus

    def add(self, g) -> None:
        raise NotImplementedError

    def remove(self, g) -> None:
        raise NotImplementedError

    def pick(self):
        """The next runnable guest, or None."""
        raise NotImplementedError

    def ran(self, g, insns: int) -> None:
        """g ran `insns` instructions and is back (runnable, idle or done)."""

    def woke(self, g) -> None:
        """g was idle and is runnable again."""

    def throttled(self) -> bool:
        """Something could run but the policy holds it back (a cap): pCPUs idle on purpose."""
        return False

    def idle_slot(self) -> None:
        """A pCPU spent one slice's worth of time idle while throttled() was true."""


class RoundRobin(Policy):
    """One FIFO of runnable vCPUs; each runs one slice and goes to the back."""

    name = "rr"

    def __init__(self, slice_insns: int, pcpus: int):
        super().__init__(slice_insns, pcpus)
        self.queue = deque()

    def add(self, g) -> None:
        self.queue.append(g)

    def remove(self, g) -> None:
        if g in self.queue:
            self.queue.remove(g)

    def pick(self):
        for _ in range(len(self.queue)):
            g = self.queue.popleft()
            if g.runnable:
                return g
            self.queue.append(g)
        return None

    def ran(self, g, insns: int) -> None:
        if g.alive and g not in self.queue:
            self.queue.append(g)

    def woke(self, g) -> None:
        if g not in self.queue:
            self.queue.append(g)


class Credit(Policy):
    """Xen credit scheduler semantics, in instructions (see the module docstring)."""

    name = "credit"
    PERIOD_SLICES = 32  # slices per pCPU per accounting period: fine enough for exact shares

    def __init__(self, slice_insns: int, pcpus: int):
        super().__init__(slice_insns, pcpus)
        self.period_insns = slice_insns * self.PERIOD_SLICES  # one pCPU's worth per period
        self.guests = []
        self.used_in_period = 0
        self.order = 0  # round-robin tiebreak within a priority
        self.history = deque(maxlen=HISTORY_PERIODS)  # per finished period: {guest name: instructions it ran, if any}

    def add(self, g) -> None:
        g.credit = 0
        g.used_this_period = 0
        g.boost = False
        g.last_pick = self.order
        self.guests.append(g)

    def remove(self, g) -> None:
        if g in self.guests:
            self.guests.remove(g)

    def priority(self, g) -> int:
        if g.boost:
            return BOOST
        return UNDER if g.credit > 0 else OVER

    def cap_insns(self, g) -> int:
        """What a capped guest may run per period: cap percent of one pCPU."""
        return self.period_insns * g.cap_percent // 100

    def capped(self, g) -> bool:
        return g.cap_percent > 0 and g.used_this_period >= self.cap_insns(g)

    def pick(self):
        best = None
        for g in self.guests:
            if not g.runnable or self.capped(g):
                continue
            key = (self.priority(g), g.last_pick)  # round robin within a priority, as Xen's run queue
            if best is None or key < best[0]:
                best = (key, g)
        if best is None:
            return None
        self.order += 1
        best[1].last_pick = self.order
        return best[1]

    def ran(self, g, insns: int) -> None:
        g.credit -= insns
        g.used_this_period += insns
        g.boost = False
        self.used_in_period += insns
        if self.used_in_period >= self.period_insns * self.pcpus:
            self._new_period()

    def woke(self, g) -> None:
        g.boost = True  # Xen: a vCPU waking from idle preempts the CPU hogs once

    def throttled(self) -> bool:
        return any(g.runnable and self.capped(g) for g in self.guests)

    def idle_slot(self) -> None:
        # The period is pCPU time, used or not: an idle pCPU's slice counts too, so a
        # capped guest gets its percent of a pCPU, not of the busy pCPUs.
        self.used_in_period += self.slice_insns
        if self.used_in_period >= self.period_insns * self.pcpus:
            self._new_period()

    def _new_period(self) -> None:
        """Hand out one period's worth of every pCPU to the active guests, by weight."""
        self.used_in_period = 0
        self.history.append({g.name: g.used_this_period for g in self.guests if g.used_this_period})  # idle: absent
        active = [g for g in self.guests if g.alive and (g.runnable or g.used_this_period)]
        total = sum(g.weight for g in active) or 1
        for g in self.guests:
            g.used_this_period = 0
        for g in active:
            share = self.period_insns * self.pcpus * g.weight // total
            g.credit = min(g.credit + share, share)  # credit does not pile up while a guest idles


POLICIES = {"rr": RoundRobin, "credit": Credit}
