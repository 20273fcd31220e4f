"""Cross-run studies, each a DVC stage writing metrics/studies/<study>[_<entry>].json and
plots/studies/<study>[_<entry>]/ (settings: `studies:` in params.yaml).

registry.py lists them, one `Study` line each (stage name, function, params type, deps);
`python stages/study.py <study> [<entry>]` runs any of them and `python -m aelab.dvcstages
--write` generates their dvc.yaml stages. common.py holds what they share (entry lookup,
setup, variant checks, the staged metrics + figures writer). The random-forest probe of
classify@<variant> lives in aelab.probe.
"""
