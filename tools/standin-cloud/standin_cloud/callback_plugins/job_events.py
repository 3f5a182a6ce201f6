"""Records a job's events as AAP's controller does (through ansible-runner's event
callback): one JSON object a line in $PROMPTOPS_STANDIN_JOB_EVENTS, with the fields of the
controller's job events (event, event_display, counter, play, task, role, host_name,
failed, changed, event_data). The AAP stand-in serves them as
/api/controller/v2/jobs/ID/job_events/. Results are the censored ones Ansible hands to
callbacks (a no_log task's result is hidden), and only their `msg` is kept."""

import datetime
import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: job_events
type: notification
short_description: job events as the AAP controller records them (AAP stand-in)
description: writes every host and play event as a JSON line to $PROMPTOPS_STANDIN_JOB_EVENTS
"""

# The controller's display names of the events it records.
DISPLAY = {
    "playbook_on_start": "Playbook Started",
    "playbook_on_play_start": "Play Started",
    "playbook_on_task_start": "Task Started",
    "runner_on_ok": "Host OK",
    "runner_on_failed": "Host Failed",
    "runner_on_skipped": "Host Skipped",
    "runner_on_unreachable": "Host Unreachable",
    "playbook_on_stats": "Playbook Complete",
}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "job_events"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self):
        super().__init__()
        self._path = os.environ.get("PROMPTOPS_STANDIN_JOB_EVENTS")
        self._counter = 0
        self._play = ""
        self._task = ""
        self._role = ""

    def _emit(self, event, host_name="", failed=False, changed=False, event_data=None):
        if not self._path:
            return
        self._counter += 1
        record = {
            "event": event,
            "event_display": DISPLAY.get(event, event),
            "counter": self._counter,
            "play": self._play,
            "task": self._task,
            "role": self._role,
            "host_name": host_name,
            "failed": failed,
            "changed": changed,
            "event_data": event_data or {},
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        }
        with open(self._path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def _host_event(self, event, result, failed=False, ignore_errors=False):
        res = result._result
        data = {"res": {"msg": str(res["msg"])} if "msg" in res else {}, "task_action": result._task.action}
        if ignore_errors:
            data["ignore_errors"] = True
        self._emit(
            event,
            host_name=result._host.get_name(),
            # As the controller: a failure whose errors are ignored is not a failed event.
            failed=failed and not ignore_errors,
            changed=bool(res.get("changed")),
            event_data=data,
        )

    def v2_playbook_on_start(self, playbook):
        self._emit("playbook_on_start", event_data={"playbook": os.path.basename(playbook._file_name)})

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name().strip()
        self._emit("playbook_on_play_start")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task = task.get_name().strip()
        self._role = task._role.get_name() if task._role else ""
        self._emit("playbook_on_task_start")

    def v2_runner_on_ok(self, result):
        self._host_event("runner_on_ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._host_event("runner_on_failed", result, failed=True, ignore_errors=ignore_errors)

    def v2_runner_on_unreachable(self, result):
        self._host_event("runner_on_unreachable", result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._host_event("runner_on_skipped", result)

    def v2_playbook_on_stats(self, stats):
        self._task = self._role = ""
        failed = any(stats.failures.values()) or any(stats.dark.values())
        self._emit("playbook_on_stats", failed=failed)
