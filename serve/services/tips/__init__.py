"""Public tip-offs (issue 15): filing, grouping, outcome, triage, rewards, numbers, teaching.

One module per job: ``codes`` (tip codes and secrets), ``filing`` (a tip from the public, stored
like an inspection: idempotent, photos content-addressed), ``grouping`` (near-duplicates),
``state`` (outcome derived from the linked survey target), ``triage`` (target / dismiss /
reward, audited), ``stats`` (numbers for the office), ``check`` (what the public check says),
``teaching`` (the learn page and reference photos), ``poster`` (the printable A4 poster).
"""
