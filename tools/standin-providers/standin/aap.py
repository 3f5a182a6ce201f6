"""ansible/aap: the aap_job_launch action calls the AAP controller API as the real
provider (1.4.0) does: discover the controller's API path from GET /api/, POST
<api>/job_templates/<id>/launch/ with extra_vars (and inventory), then, with
wait_for_completion, poll the job's URL until it reaches a final state; a job that ends
other than "successful" fails the action (unless ignore_job_results)."""

import base64
import json
import os
import ssl
import time
import urllib.error
import urllib.request

from .provider import Provider, ProviderError

FINAL_STATES = ("successful", "failed", "error", "canceled")
DEFAULT_WAIT_SECONDS = 120
POLL_SECONDS = 0.5


class AapProvider(Provider):
    name = "aap"

    def configure(self, config):
        super().configure(config)
        # As the real provider: the configuration first, then the environment.
        self.host = config.get("host") or os.environ.get("AAP_HOSTNAME", "")
        self.token = config.get("token") or os.environ.get("AAP_TOKEN", "")
        self.username = config.get("username") or os.environ.get("AAP_USERNAME", "")
        self.password = config.get("password") or os.environ.get("AAP_PASSWORD", "")
        self.insecure = bool(config.get("insecure_skip_verify"))
        self.timeout = config.get("timeout") or 5

    def invoke(self, action_type, config):
        if action_type != "aap_job_launch":
            raise ProviderError(f"the {action_type} action is not served by this stand-in")
        if not self.host:
            raise ProviderError("Missing AAP host", "Set host in the provider block or AAP_HOSTNAME.")
        api = self._controller_api()
        template_id = int(config["job_template_id"])
        body = {}
        if config.get("extra_vars"):
            body["extra_vars"] = config["extra_vars"]
        if config.get("inventory_id"):
            body["inventory"] = int(config["inventory_id"])
        status, job = self._request("POST", f"{api.rstrip('/')}/job_templates/{template_id}/launch/", body)
        if status != 201:
            raise ProviderError(
                "Unexpected HTTP status code received for POST request",
                f"Expected 201, got {status}: {json.dumps(job)}",
            )
        yield f"AAP job launched from job template {template_id}: {job.get('url', '')}"
        if not config.get("wait_for_completion"):
            return
        wait = config.get("wait_for_completion_timeout_seconds") or DEFAULT_WAIT_SECONDS
        final = self._wait(job["url"], wait)
        if final != "successful" and not config.get("ignore_job_results"):
            raise ProviderError(f"AAP job {final}", f"API Path: {job['url']}")
        yield f"AAP job {job['url']} {final}"

    def _controller_api(self):
        _, root = self._request("GET", "/api/")
        controller = (root.get("apis") or {}).get("controller")
        if controller:
            _, root = self._request("GET", controller)
        version = root.get("current_version")
        if not version:
            raise ProviderError("Unable to determine API Endpoint", "The controller endpoint is missing from response")
        return version

    def _wait(self, url, seconds):
        deadline = time.monotonic() + seconds
        status = ""
        while time.monotonic() < deadline:
            code, job = self._request("GET", url)
            status = job.get("status", "") if code == 200 else status
            if status in FINAL_STATES:
                return status
            time.sleep(POLL_SECONDS)
        raise ProviderError(
            "error when waiting for AAP job to complete",
            f"job at: {url} hasn't yet reached a final state after {seconds}s. Current state: {status}",
        )

    def _request(self, method, path, body=None):
        url = self.host.rstrip("/") + path
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        elif self.username:
            basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {basic}")
        context = ssl._create_unverified_context() if self.insecure else None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=context) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")
        except (urllib.error.URLError, OSError) as error:
            raise ProviderError(f"AAP at {self.host} cannot be reached", str(error)) from error
