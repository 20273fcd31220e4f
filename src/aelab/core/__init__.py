"""What every stage runs: the stage command line (cli), params loading and validation
(params, config), paths, atomic file writes (io), timing, runtime settings and errors.

One package so that dvc.yaml names it as one dependency (`src/aelab/core`) instead of
eight files per stage: DVC rewrites the whole dvc.lock after every stage it runs, and the
lock's size sets that cost.
"""
