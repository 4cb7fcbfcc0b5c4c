"""graph-supervisor: a process supervisor built on a graph of capabilities.

Services declare what they ``provide`` and what they ``require``. The graph model and the linter
(this package's pure half) prove before anything runs that every deployment variant has a
provider for everything it needs; the runtime (``supervisor.runtime``) builds on the same model.
"""

__version__ = "0.1.0"  # the one place: pyproject.toml reads it (dynamic version)
__distribution__ = "graph-supervisor"  # tells this package from supervisord's, which has the same name
