"""kg: news reports turned into a knowledge graph in which every fact cites its sentence.

The pipeline runs in one direction, each stage taking only the previous stage's output:

articles (:mod:`kg.articles`) -> claims (:mod:`kg.claims`) -> triples (:mod:`kg.triples`)
-> store (:mod:`kg.store`) -> views and exports.

:mod:`kg.pipeline` and :mod:`kg.cli` are the only modules that chain the stages.
"""

__version__ = "0.1.0"
