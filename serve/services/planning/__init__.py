"""Patrol planning (issue 14): where to go next, what is not covered yet, and the report upward.

Pure parts (no database; the back-test and the simulator run on them alone):

- ``shapes``: unit boundaries as shapely geometries, validity (self-intersections …),
  distances in metres through a local projection.
- ``grid``: the H3 grid over a unit, cell polygons, cells a GPS track walked.
- ``scoring``: a cell's priority from history, recurrence, borders, offenders, staleness,
  with its reasons in Chinese and English.
- ``backtest``: rank with the years before Y, measure the share of year-Y plantings caught.
- ``simulate``: a seeded simulated county (labelled a simulation everywhere).

Database parts: ``files`` (reading the import files), ``registry`` (units, sites,
households), ``history``, ``priorities``, ``plans``, ``tracks``, ``coverage``, ``report``.
"""
