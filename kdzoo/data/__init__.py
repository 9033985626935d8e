"""Tasks and data: GLUE (hub, local TSV, JSON/CSV) and embedded offline tasks.

:func:`tasks` lists them; :func:`load_task` loads one as a :class:`TaskData`.
"""

from kdzoo.data.base import Split, TaskData, TaskSpec, get_spec, load_task, register_task, tasks

__all__ = ["Split", "TaskData", "TaskSpec", "get_spec", "load_task", "register_task", "tasks"]
