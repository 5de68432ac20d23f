"""The invbench leaderboard: validate and merge results, build ``README.md`` and ``index.html``.

``invbench leaderboard submit FILE`` (:mod:`.submit`) and ``invbench leaderboard build``
(:mod:`.build`).
"""
