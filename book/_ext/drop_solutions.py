"""Remove every exercise solution from the build: the student edition of the book.

sphinx-exercise's own ``hide_solutions`` fails on gated solutions (``solution-start`` /
``solution-end`` around executable cells; 1.2.1 raises on the orphaned end node), so the
student build keeps ``hide_solutions: false`` and sets ``drop_solutions: true``, and this
transform deletes the merged solution nodes, code cells included.
"""

from __future__ import annotations

from sphinx.transforms import SphinxTransform
from sphinx_exercise.nodes import solution_node


class DropSolutions(SphinxTransform):
    default_priority = 11  # after sphinx-exercise merges gated solutions (priority 10)

    def apply(self) -> None:
        if not self.config.drop_solutions:
            return
        for node in list(self.document.findall(solution_node)):
            node.parent.remove(node)


def setup(app):
    app.add_config_value("drop_solutions", False, "env")
    app.add_transform(DropSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
