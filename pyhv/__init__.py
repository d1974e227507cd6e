"""pyhv: a type-2 hypervisor in Python with a C core, running RISC-V rv32 guests on Unicorn."""

from pyhv.errors import PyhvError
from pyhv.exits import Exit
from pyhv.memory import FramePool
from pyhv.vm import VM

__version__ = "0.1.0"
__all__ = ["VM", "Exit", "FramePool", "PyhvError", "__version__"]
