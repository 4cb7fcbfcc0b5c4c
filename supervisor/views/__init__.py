"""Pure views of a graph for people and scripts: ``graph``, ``explain`` and ``diff``.

Each module computes attrs data from a :class:`~supervisor.graph.model.Graph` and renders it to text or
rich renderables; none of them reads files or writes output, the command modules do that.
"""
