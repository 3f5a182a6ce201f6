"""An AAP (automation controller) stand-in that runs job templates for real: the endpoints
the ansible/aap provider's aap_job_launch action calls, and those an operator or a test
reads a job back with.

  GET  /api/                                  {"apis": {"controller": "/api/controller/"}}
  GET  /api/controller/                       {"current_version": "/api/controller/v2/"}
  POST /api/controller/v2/job_templates/ID/launch/   201 {"job", "id", "url", "status"}
  GET  /api/controller/v2/jobs/[?job_template=ID]    the jobs, newest last
  GET  /api/controller/v2/jobs/ID/            status: pending, running, successful, failed
  GET  /api/controller/v2/jobs/ID/stdout/?format=txt
  GET  /api/controller/v2/jobs/ID/job_host_summaries/  per host, from the play recap
  GET  /api/controller/v2/jobs/ID/job_events/[?failed=true&event=E&host_name=H]
                                              the job's events, in order (as the controller
                                              records them: callback_plugins/job_events.py)

Every request needs `Authorization: Bearer <token>`. A launch runs the template's playbook
with ansible-playbook (inventory: localhost only; the playbook adds its targets itself) and
the template's extra_vars overlaid with the launch's, as AAP does for a template that
prompts for variables on launch (one that does not ignores them and says so in
`ignored_fields`). Each job runs with its own HOME and TMPDIR under
DATA_DIR/jobs/ID, where whatever the playbook leaves behind can be inspected.

The configuration file (JSON):
  {"token": "...", "job_templates": {"17": {"name": "...", "playbook": "/abs/path.yml",
   "extra_vars": {...}, "ask_variables_on_launch": true, "ask_inventory_on_launch": true}}}

usage: python3 -m standin_cloud.aap --config FILE --data-dir DIR --ansible-bin DIR [--port P]"""

import argparse
import datetime
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API = "/api/controller/v2/"
CALLBACK_PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
# The filters of the controller's job event list this stand-in serves (others are refused,
# not ignored, so that a client relying on one notices).
EVENT_FILTERS = ("failed", "event", "host_name", "page_size", "order_by")
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)")


class Controller:
    def __init__(self, config, data_dir, ansible_bin):
        self.templates = {int(k): v for k, v in (config.get("job_templates") or {}).items()}
        self.data_dir = data_dir
        self.ansible_bin = ansible_bin
        self.lock = threading.Lock()
        self.jobs = {}

    def launch(self, template_id, body):
        template = self.templates.get(template_id)
        if template is None:
            return 404, {"detail": "Not found."}
        extra_vars = dict(template.get("extra_vars") or {})
        ignored = {}
        launch_vars = body.get("extra_vars")
        if isinstance(launch_vars, str) and launch_vars.strip():
            try:
                launch_vars = json.loads(launch_vars)
            except ValueError:
                return 400, {"extra_vars": ["Cannot parse as JSON."]}
        if launch_vars:
            if not isinstance(launch_vars, dict):
                return 400, {"extra_vars": ["Must be a JSON object."]}
            if template.get("ask_variables_on_launch"):
                extra_vars.update(launch_vars)
            else:
                ignored["extra_vars"] = launch_vars
        if "inventory" in body and not template.get("ask_inventory_on_launch"):
            ignored["inventory"] = body["inventory"]
        with self.lock:
            job_id = len(self.jobs) + 1
            job = {
                "id": job_id,
                "type": "job",
                "url": f"{API}jobs/{job_id}/",
                "name": template.get("name", f"template {template_id}"),
                "job_template": template_id,
                "launch_type": "manual",
                "status": "pending",
                "failed": False,
                "started": None,
                "finished": None,
                "playbook": os.path.basename(template["playbook"]),
                "extra_vars": json.dumps(extra_vars),
                "result_traceback": "",
            }
            self.jobs[job_id] = job
        threading.Thread(target=self._run, args=(job, template, extra_vars), daemon=True).start()
        answer = dict(job, job=job_id, ignored_fields=ignored)
        return 201, answer

    def _run(self, job, template, extra_vars):
        job_dir = os.path.join(self.data_dir, "jobs", str(job["id"]))
        home, tmp = os.path.join(job_dir, "home"), os.path.join(job_dir, "tmp")
        for path in (home, tmp):
            os.makedirs(path, mode=0o700, exist_ok=True)
        # As in an execution environment, everything the controller side writes (module
        # payloads, control sockets, the playbook's temp files) stays in the job's area.
        inventory = os.path.join(job_dir, "inventory")
        with open(inventory, "w", encoding="utf-8") as f:
            f.write(f"localhost ansible_connection=local ansible_remote_tmp={home}/.ansible/tmp\n")
        vars_file = os.path.join(job_dir, "extra_vars.json")
        with open(os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
            json.dump(extra_vars, f)
        playbook = template["playbook"]
        env = {
            "PATH": f"{self.ansible_bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "TMPDIR": tmp,
            "LANG": "C.UTF-8",
            "ANSIBLE_CONFIG": os.path.join(os.path.dirname(playbook), "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_LOCAL_TEMP": os.path.join(home, ".ansible", "tmp"),
            # The controller records every event of the run (ansible-runner's callback).
            "ANSIBLE_CALLBACK_PLUGINS": CALLBACK_PLUGINS,
            "PROMPTOPS_STANDIN_JOB_EVENTS": os.path.join(job_dir, "events.jsonl"),
        }
        self._update(job, status="running", started=_now())
        with open(os.path.join(job_dir, "stdout.txt"), "wb") as out:
            try:
                code = subprocess.run(
                    [os.path.join(self.ansible_bin, "ansible-playbook"), "-i", inventory, "-e", f"@{vars_file}", playbook],
                    cwd=os.path.dirname(playbook),
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                ).returncode
                traceback = ""
            except OSError as error:
                code, traceback = -1, f"cannot run ansible-playbook: {error}"
        # The launch's variables hold a (single-use) wrapped secret; the job record keeps
        # them, as AAP does, but no file does.
        os.unlink(vars_file)
        status = "successful" if code == 0 else "failed"
        self._update(job, status=status, failed=code != 0, finished=_now(), result_traceback=traceback)

    def _update(self, job, **fields):
        with self.lock:
            job.update(fields)

    def job(self, job_id):
        with self.lock:
            job = self.jobs.get(job_id)
            return dict(job) if job else None

    def jobs_list(self, template_id=None):
        with self.lock:
            results = [dict(j) for j in self.jobs.values() if template_id is None or j["job_template"] == template_id]
        return {"count": len(results), "next": None, "previous": None, "results": results}

    def stdout(self, job_id):
        path = os.path.join(self.data_dir, "jobs", str(job_id), "stdout.txt")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def events(self, job_id, query):
        unknown = sorted(set(query) - set(EVENT_FILTERS))
        if unknown:
            return 400, {"detail": f"this stand-in does not filter job events by {', '.join(unknown)}"}
        path = os.path.join(self.data_dir, "jobs", str(job_id), "events.jsonl")
        try:
            with open(path, encoding="utf-8") as f:
                events = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            events = []
        results = []
        for event in events:
            record = dict(
                event,
                id=job_id * 100000 + event["counter"],
                type="job_event",
                url=f"{API}job_events/{job_id * 100000 + event['counter']}/",
                job=job_id,
            )
            if "failed" in query and str(record["failed"]).lower() != query["failed"][0].lower():
                continue
            if "event" in query and record["event"] != query["event"][0]:
                continue
            if "host_name" in query and record["host_name"] != query["host_name"][0]:
                continue
            results.append(record)
        if query.get("order_by", ["counter"])[0] == "-counter":
            results.reverse()
        size = int(query.get("page_size", ["25"])[0])
        return 200, {"count": len(results), "next": None, "previous": None, "results": results[:size]}

    def host_summaries(self, job_id):
        results = []
        for line in self.stdout(job_id).split("PLAY RECAP")[-1].splitlines():
            match = RECAP.match(line.strip())
            if match:
                host = match.group(1)
                ok, changed, dark, failures, skipped, rescued, ignored = (int(g) for g in match.groups()[1:])
                results.append({
                    "host_name": host, "ok": ok, "changed": changed, "dark": dark, "failures": failures,
                    "skipped": skipped, "rescued": rescued, "ignored": ignored,
                    "failed": bool(failures or dark or rescued),
                })
        return {"count": len(results), "results": results}


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def handler_for(controller, token):
    jobs_path = re.compile(r"^/api/controller/v2/jobs/(\d+)/(stdout/|job_host_summaries/|job_events/)?$")
    launch_path = re.compile(r"^/api/controller/v2/job_templates/(\d+)/launch/$")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write("aap: " + (fmt % args) + "\n")

        def _send(self, code, body, content_type="application/json"):
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self):
            given = self.headers.get("Authorization", "")
            if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return True
            self._send(401, {"detail": "Authentication credentials were not provided."})
            return False

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == "/api/":
                return self._send(200, {"description": "AAP stand-in", "apis": {"controller": "/api/controller/"}})
            if url.path == "/api/controller/":
                return self._send(200, {"current_version": API, "available_versions": {"v2": API}})
            if not self._authorized():
                return None
            query = parse_qs(url.query)
            if url.path == f"{API}jobs/":
                template = query.get("job_template", [None])[0]
                return self._send(200, controller.jobs_list(int(template) if template else None))
            match = jobs_path.match(url.path)
            if match and controller.job(int(match.group(1))):
                job_id, sub = int(match.group(1)), match.group(2)
                if sub == "stdout/":
                    return self._send(200, controller.stdout(job_id), "text/plain; charset=utf-8")
                if sub == "job_host_summaries/":
                    return self._send(200, controller.host_summaries(job_id))
                if sub == "job_events/":
                    return self._send(*controller.events(job_id, query))
                return self._send(200, controller.job(job_id))
            return self._send(404, {"detail": "Not found."})

        def do_POST(self):
            if not self._authorized():
                return None
            match = launch_path.match(urlsplit(self.path).path)
            if not match:
                return self._send(404, {"detail": "Not found."})
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self._send(400, {"detail": "JSON parse error."})
            code, answer = controller.launch(int(match.group(1)), body)
            return self._send(code, answer)

    return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description="AAP controller stand-in running job templates with ansible-playbook")
    parser.add_argument("--config", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--ansible-bin", required=True, help="directory holding ansible-playbook")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the bound port here once serving")
    args = parser.parse_args(argv)
    with open(args.config, encoding="utf-8") as f:
        config = json.load(f)
    if not config.get("token"):
        sys.exit(f"aap stand-in: {args.config} has no token")
    for template_id, template in (config.get("job_templates") or {}).items():
        if not os.path.isfile(template.get("playbook", "")):
            sys.exit(f"aap stand-in: job template {template_id}: playbook {template.get('playbook')!r} does not exist")
    if not os.access(os.path.join(args.ansible_bin, "ansible-playbook"), os.X_OK):
        sys.exit(f"aap stand-in: no ansible-playbook in {args.ansible_bin} (scripts/setup-ansible.sh installs it)")
    os.makedirs(args.data_dir, mode=0o700, exist_ok=True)
    controller = Controller(config, os.path.abspath(args.data_dir), os.path.abspath(args.ansible_bin))
    server = ThreadingHTTPServer((args.bind, args.port), handler_for(controller, config["token"]))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w", encoding="utf-8") as f:
            f.write(str(port))
        os.replace(args.port_file + ".tmp", args.port_file)
    sys.stderr.write(f"aap stand-in: serving http://{args.bind}:{port}/api/\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
