"""Flow definitions shared by the console tests."""

from __future__ import annotations

#: A choice, a parallel and a foreach; item 2 of the foreach body fails (``Bad.Item``) with no catch.
MIXED = """\
version: v1
type: flow
steps:
  - type: choice
    name: route
    choices:
      - condition: $.kind == "a"
        steps:
          - type: pass
            name: chose-a
    default:
      goto: fan
  - type: pass
    name: after-choice
  - type: parallel
    name: fan
    branches:
      - steps:
          - type: pass
            name: left
      - steps:
          - type: foreach
            name: each
            iterationMapping:
              collection: $.items
              item: item
            steps:
              - type: choice
                name: check
                choices:
                  - condition: $.item == 2
                    steps:
                      - type: fail
                        name: boom
                        error: Bad.Item
                        cause: item 2 is not allowed
  - type: pass
    name: never
"""

#: A task that fails and is caught, then a pass.
CAUGHT = """\
version: v1
type: flow
steps:
  - type: task
    name: call
    resourceArn: acs:fc:::services/s/functions/f
    catch:
      - errors: [FnF.ALL]
        goto: recover
  - type: pass
    name: skipped
  - type: pass
    name: recover
"""

#: Waits an hour: an execution that stays running until stopped.
SLOW = """\
version: v1
type: flow
steps:
  - type: wait
    name: nap
    duration: 3600
  - type: pass
    name: done
"""


def big_flow(reps: int = 20) -> str:
    """A flow of ``10 * reps`` steps mixing sequences, choices, parallels and foreach bodies."""
    lines = ["version: v1", "type: flow", "steps:"]
    for i in range(reps):
        lines += [
            f"  - {{type: pass, name: p{i}a}}",
            f"  - {{type: pass, name: p{i}b}}",
            f"  - type: choice\n    name: c{i}\n    choices:\n      - condition: $.x == {i}\n"
            f"        steps: [{{type: pass, name: c{i}yes}}]\n"
            f"    default:\n      steps: [{{type: pass, name: c{i}no}}]",
            f"  - type: parallel\n    name: par{i}\n    branches:\n      - steps: [{{type: pass, name: par{i}l}}]\n"
            f"      - steps: [{{type: pass, name: par{i}r}}]",
            f"  - type: foreach\n    name: fe{i}\n    iterationMapping: {{collection: $.xs, item: it}}\n"
            f"    steps: [{{type: pass, name: fe{i}body}}]",
        ]
    return "\n".join(lines) + "\n"


def many_events_flow() -> str:
    """A foreach over ``$.items`` whose body is one pass step with a small input: 5 events per item."""
    return """\
version: v1
type: flow
steps:
  - type: foreach
    name: loop
    iterationMapping:
      collection: $.items
      item: item
    steps:
      - type: pass
        name: touch
        inputMappings:
          - target: i
            source: $input.item
"""
