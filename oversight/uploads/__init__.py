"""Metric files in: reading, validating and storing NHS England data files and templates.

``readers`` and ``validation`` are pure (pandas, openpyxl; no Django) so every rule can be
tested on small files; ``services`` reads the reference data, stores what passed and
starts the recompute.
"""
