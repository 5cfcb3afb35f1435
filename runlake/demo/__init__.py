"""`runlake demo`: a deterministic, realistic history of Tekton runs, written into the store
as `runlake import` writes runs, with the step logs. `generate` makes up the runs from a
catalog of Pipelines and Tasks (catalog.py, simulate.py) and `demo_step_log` the text of
their step logs (logtext.py), both pure; write.py does the store I/O."""

from runlake.demo.logtext import demo_step_log
from runlake.demo.simulate import generate

__all__ = ["demo_step_log", "generate"]
