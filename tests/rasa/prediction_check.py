"""Run by tests/test_patches.py with Rasa's Python (.venv-rasa): the policies predict the same
next action from the recent turns (rasa_addons/performance.py) as from the whole conversation.

All test stories (tests/test_stories.yml) are chained into one long conversation; at every
point where the assistant acts, Rasa's own prediction is made twice, from the full tracker and
from the shortened one, and both must give the same action, confidence and policy. Prints the
number of predictions compared and how many of them had a shortened tracker."""

from __future__ import annotations

import asyncio
import json
import sys

from rasa.core.agent import Agent
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

from rasa_addons import performance


async def main(model: str, stories: str) -> None:
    agent = Agent.load(model)
    processor = agent.processor
    domain = processor.domain
    steps = YAMLStoryReader(domain).read_from_file(stories)
    events: list = [ActionExecuted("action_listen")]
    for step in steps:
        for event in step.events:
            if isinstance(event, (UserUttered, ActionExecuted)):
                events.append(event)
                if isinstance(event, ActionExecuted) and event.action_name != "action_listen":
                    events.append(ActionExecuted("action_listen"))
    compared = shortened = 0
    for i, event in enumerate(events):
        if not isinstance(event, ActionExecuted) or i == 0:
            continue
        tracker = DialogueStateTracker.from_events("check", events[:i], domain.slots, domain=domain)
        recent = performance.recent_tracker(tracker, domain)
        full = processor._predict_next_with_tracker(tracker)
        short = processor._predict_next_with_tracker(recent)
        same = (full.max_confidence_index == short.max_confidence_index and full.policy_name == short.policy_name
                and abs(full.max_confidence - short.max_confidence) < 1e-9)
        if not same:
            raise SystemExit(f"different prediction at event {i}: {full.policy_name} {full.max_confidence_index} "
                             f"vs {short.policy_name} {short.max_confidence_index}")
        compared += 1
        shortened += len(recent.events) < len(tracker.events)
    print(json.dumps({"compared": compared, "shortened": shortened}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
