"""Checks the deployment files the way that can be done without a cluster or an AWS account:
the Kubernetes manifests against the Kubernetes API's schema (kubernetes-validate, strict: no
unknown field), the AWS Batch JSON against botocore's service model of RegisterJobDefinition and
SubmitJob, the Dockerfile through Docker's own parser; and, in each, the exit-status policy and
the settings that matter (indexed completions, the API key from a secret, a user without
privileges). Prints one line per check; exits 1 on the first failure.

    python scripts/check-deploy.py [ROOT]
"""
import json
import os
import sys

import botocore.session
import dockerfile
import kubernetes_validate
import yaml
from botocore.validate import ParamValidator

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
KUBERNETES = "1.33.0"  # backoffLimitPerIndex and FailIndex are GA from 1.33


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}")
        sys.exit(1)
    print(f"ok: {what}")


def exit_codes(rules, action):
    return sorted({code for rule in rules if rule["action"] == action for code in rule.get("onExitCodes", {}).get("values", [])})


# Kubernetes.
path = os.path.join(ROOT, "deploy/kubernetes/indexed-job.yaml")
with open(path) as f:
    documents = [d for d in yaml.safe_load_all(f) if d]
for document in documents:
    what = f"{document['kind']} {document['metadata']['name']} is valid against Kubernetes {KUBERNETES} (strict)"
    try:
        kubernetes_validate.validate(document, KUBERNETES, strict=True)
    except kubernetes_validate.ValidationError as error:
        check(False, f"{what}: {error.message} at {list(error.path)}")
    check(True, what)
jobs = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Job"}
check(set(jobs) == {"batch-tokenize-plan", "batch-tokenize-shards", "batch-tokenize-merge"}, "a plan Job, an Indexed Job of shards, a merge Job")
shards = jobs["batch-tokenize-shards"]["spec"]
check(shards["completionMode"] == "Indexed" and shards["completions"] == shards["parallelism"] == 8, "the shards: Indexed, 8 completions, 8 in parallel")
check(shards.get("backoffLimitPerIndex", 0) >= 1, "a failed index is retried (backoffLimitPerIndex)")
rules = shards["podFailurePolicy"]["rules"]
check(exit_codes(rules, "FailIndex") == [4, 64], "exit 4 and 64 fail the index without a retry")
check(exit_codes(rules, "Count") == [1, 5, 75], "exit 1, 5 and 75 are retried")
check(any(r["action"] == "Ignore" and r.get("onPodConditions") for r in rules), "a disrupted pod (its node lost) is not counted")
for name, job in jobs.items():
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    check(pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] != 0, f"{name} runs as a user without privileges")
    check(pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "batch-tokenize-data", f"{name} reads and writes the claim's volume")
    if name != "batch-tokenize-merge":
        key = [e for e in container["env"] if e["name"] == "SCX_API_KEY"]
        check(len(key) == 1 and "secretKeyRef" in key[0]["valueFrom"], f"{name} takes the API key from a Secret")
check("--plan" in shards["template"]["spec"]["containers"][0]["args"], "each shard runs its part of the plan (JOB_COMPLETION_INDEX picks it)")

# AWS Batch.
model = botocore.session.get_session().get_service_model("batch")
validator = ParamValidator()
for name, operation in [
    ("job-definition.json", "RegisterJobDefinition"),
    ("submit-plan.json", "SubmitJob"),
    ("submit-shards.json", "SubmitJob"),
    ("submit-merge.json", "SubmitJob"),
]:
    with open(os.path.join(ROOT, "deploy/aws-batch", name)) as f:
        params = json.load(f)
    report = validator.validate(params, model.operation_model(operation).input_shape)
    check(not report.has_errors(), f"{name} is a valid {operation} request (botocore {botocore.__version__})" + (f": {report.generate_report()}" if report.has_errors() else ""))
with open(os.path.join(ROOT, "deploy/aws-batch/job-definition.json")) as f:
    definition = json.load(f)
on_exit = definition["retryStrategy"]["evaluateOnExit"]
actions = {entry["onExitCode"]: entry["action"] for entry in on_exit if "onExitCode" in entry}
check(actions.get("4") == "EXIT" and actions.get("64") == "EXIT", "exit 4 and 64 end the job without a retry")
check(all(actions.get(code) == "RETRY" for code in ["1", "5", "75"]), "exit 1, 5 and 75 are retried")
check(definition["retryStrategy"]["attempts"] >= 2, "retries are allowed")
check(definition["containerProperties"]["user"] not in ("0", "root"), "the container runs as a user without privileges")
check(definition["containerProperties"]["secrets"][0]["name"] == "SCX_API_KEY", "the API key comes from Secrets Manager")
with open(os.path.join(ROOT, "deploy/aws-batch/submit-shards.json")) as f:
    check(json.load(f)["arrayProperties"]["size"] == 8, "the shards are an array job of 8 (AWS_BATCH_JOB_ARRAY_INDEX picks each one's)")

# Dockerfile.
commands = dockerfile.parse_file(os.path.join(ROOT, "Dockerfile"))
stages = [c for c in commands if c.cmd == "FROM"]
check(len(stages) == 2, "two stages")
check(stages[0].value[0].startswith("swift:") and stages[0].value[-1] == "build", f"the build stage is the official Swift image ({stages[0].value[0]})")
check(stages[1].value[-1] == "runtime" and not stages[1].value[0].startswith("swift:"), f"the runtime stage is a slim image ({stages[1].value[0]})")
check(any(c.cmd == "RUN" and "--static-swift-stdlib" in c.value[0] for c in commands), "the binary is built with --static-swift-stdlib")
runtime = commands[commands.index(stages[1]):]
users = [c.value[0] for c in runtime if c.cmd == "USER"]
check(len(users) == 1 and users[0].split(":")[0] not in ("0", "root"), f"the runtime stage runs as user {users[0] if users else 'root'}")
check(any(c.cmd == "COPY" and c.flags == ("--from=build",) for c in runtime), "the runtime stage takes only the binary from the build stage")
check(any(c.cmd == "ENTRYPOINT" for c in runtime), "the image's entry point is batch-tokenize")
print("every deployment check passed")
