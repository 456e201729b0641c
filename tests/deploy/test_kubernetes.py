"""deploy/kubernetes/: valid against the Kubernetes schemas (kubernetes-validate ships them: no cluster needed),
and what a reviewer checks beyond the schema: non-root, locked-down containers with resources and both probes,
settings the bot knows, the migration step, and selectors that select."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from sqlalchemy.engine import make_url

from bot.access.policy import parse_policy
from bot.settings import Settings
from tests.deploy.recipes import (
    KUBERNETES,
    ROOT,
    dockerfile_stages,
    is_placeholder,
    known_settings,
    secret_settings,
    yaml_documents,
)

NAMESPACE = "commops"
# The oldest Kubernetes release still widely run by managed clusters, and the newest the schemas go up to.
VERSIONS = ("1.30", kubernetes_validate.utils.major_minor(kubernetes_validate.utils.latest_version()))
APPLIED = sorted(KUBERNETES.glob("*.yaml"))  # what `kubectl apply -f deploy/kubernetes/` applies, in this order
SECRET_TEMPLATE = KUBERNETES / "secret.yaml.example"  # filled in as secret.yaml, or made from deploy/commops.env
FILES = [*APPLIED, SECRET_TEMPLATE]


def _objects() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in FILES:
        for document in yaml_documents(path):
            yield path, document


def _one(kind: str) -> dict[str, Any]:
    found = [document for _, document in _objects() if document["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def _pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = _one("Deployment")["spec"]["template"]["spec"]
    return spec


def _containers() -> list[dict[str, Any]]:
    spec = _pod_spec()
    return [*spec.get("initContainers", []), *spec["containers"]]


def _bot() -> dict[str, Any]:
    containers = _pod_spec()["containers"]
    assert len(containers) == 1, "expected the bot alone in its pod"
    bot: dict[str, Any] = containers[0]
    return bot


def _runtime_uid() -> int:
    return int(dockerfile_stages()[-1].all("USER")[-1].text.split(":")[0])


def test_the_folder_holds_the_recipe_and_keeps_the_secret_template_apart() -> None:
    kinds = [document["kind"] for path in APPLIED for document in yaml_documents(path)]
    assert kinds == ["Namespace", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget"]
    assert all(path.name[:2].isdigit() for path in APPLIED), "file names start with their apply order"
    assert [document["kind"] for document in yaml_documents(SECRET_TEMPLATE)] == ["Secret"]
    filled = SECRET_TEMPLATE.with_suffix("")
    ignored = subprocess.run(["git", "check-ignore", "--quiet", str(filled)], cwd=ROOT, check=False).returncode == 0
    assert ignored, f"{filled.relative_to(ROOT)} will hold the real secrets: it must be git-ignored"


def test_the_schemas_for_the_versions_are_shipped() -> None:
    shipped = {kubernetes_validate.utils.major_minor(version) for version in kubernetes_validate.utils.all_versions()}
    assert set(VERSIONS) <= shipped, f"kubernetes-validate {kubernetes_validate.__version__} ships {sorted(shipped)}"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_every_object_validates_strictly_against_the_kubernetes_schema(path: Path, version: str) -> None:
    documents = yaml_documents(path)
    assert documents, f"{path.name} holds no object"
    for document in documents:
        try:
            used = kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path)
            raise AssertionError(f"{path.name}: {document['kind']} at {where}: {error.message}") from None
        except kubernetes_validate.SchemaNotFoundError as error:
            raise AssertionError(f"{path.name}: {error.message}") from None
        assert used == version, f"validated against {used}, not {version}"


def test_the_namespace_enforces_the_restricted_pod_security_standard() -> None:
    # Then the cluster itself refuses a pod of this recipe that would run as root or with privileges.
    labels = _one("Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_everything_is_in_one_namespace() -> None:
    for path, document in _objects():
        if document["kind"] == "Namespace":
            assert document["metadata"]["name"] == NAMESPACE
        else:
            assert document["metadata"].get("namespace") == NAMESPACE, f"{path.name}: not in {NAMESPACE}"


def test_several_replicas_rolled_without_losing_capacity() -> None:
    spec = _one("Deployment")["spec"]
    assert spec["replicas"] >= 3
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_the_deployment_selects_its_own_pods() -> None:
    deployment = _one("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_the_disruption_budget_selects_the_bots_pods_and_allows_a_drain() -> None:
    deployment, budget = _one("Deployment"), _one("PodDisruptionBudget")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = budget["spec"]["selector"]["matchLabels"]
    assert selector and selector.items() <= labels.items()
    replicas = deployment["spec"]["replicas"]
    if "minAvailable" in budget["spec"]:
        assert 2 <= budget["spec"]["minAvailable"] < replicas
    else:
        assert budget["spec"]["maxUnavailable"] == 1


def test_the_service_reaches_the_bots_http_port() -> None:
    service = _one("Service")
    labels = _one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    ports = {port["name"]: port["containerPort"] for port in _bot()["ports"]}
    (target,) = [port["targetPort"] for port in service["spec"]["ports"]]
    assert ports.get(target, target) == 3000


def test_every_container_runs_as_non_root_and_locked_down() -> None:
    pod = _pod_spec()
    pod_context = pod.get("securityContext", {})
    assert pod.get("automountServiceAccountToken") is False
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(host), f"the pod shares the node's {host[4:]}"
    assert pod_context.get("seccompProfile", {}).get("type") == "RuntimeDefault"
    assert all(set(volume) & {"configMap", "emptyDir", "secret"} for volume in pod["volumes"]), "no hostPath"
    for container in _containers():
        context = {**pod_context, **container.get("securityContext", {})}
        name = container["name"]
        assert context.get("runAsNonRoot") is True, f"{name}: runAsNonRoot"
        assert context.get("runAsUser", _runtime_uid()) == _runtime_uid() != 0, f"{name}: not the image's user"
        assert context.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation"
        assert context.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem"
        assert context.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: capabilities not dropped"
        assert "privileged" not in context or context["privileged"] is False
        mounts = {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts", [])}
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], f"{name}: a read-only root needs a writable /tmp"


def test_every_container_has_requests_and_a_memory_limit() -> None:
    for container in _containers():
        resources = container.get("resources", {})
        assert {"cpu", "memory"} <= set(resources.get("requests", {})), f"{container['name']}: requests"
        assert "memory" in resources.get("limits", {}), f"{container['name']}: no memory limit"


def test_one_pinned_image_for_every_container() -> None:
    images = {container["image"] for container in _containers()}
    assert len(images) == 1, f"the migration and the bot must run the same release: {images}"
    (image,) = images
    tag = image.rpartition("/")[2].partition(":")[2]
    assert tag and tag != "latest", f"{image}: pin a release tag"


def test_liveness_is_healthz_and_readiness_is_readyz_on_the_http_port() -> None:
    bot = _bot()
    ports = {port["name"]: port["containerPort"] for port in bot["ports"]}
    assert ports == {"http": 3000, "health": 8080}
    liveness, readiness = bot["livenessProbe"]["httpGet"], bot["readinessProbe"]["httpGet"]
    assert liveness["path"] == "/healthz"
    assert readiness["path"] == "/readyz"
    for probe in (liveness, readiness):
        assert ports.get(probe["port"], probe["port"]) == 3000  # HTTP mode, the default


def test_metrics_are_scraped_where_the_bot_serves_them() -> None:
    template = _one("Deployment")["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    ports = {port["containerPort"] for port in _bot()["ports"]}
    assert int(annotations["prometheus.io/port"]) in ports


def test_the_bot_takes_its_settings_from_the_secret_and_names_only_known_settings() -> None:
    secret = _one("Secret")
    for container in _containers():
        names = {variable["name"] for variable in container.get("env", [])}
        unknown = names - known_settings()
        assert not unknown, f"{container['name']}: not settings the bot reads: {unknown}"
        sources = container.get("envFrom", [])
        assert sources == [{"secretRef": {"name": secret["metadata"]["name"]}}], container["name"]
    keys = set(secret["stringData"])
    assert not keys - known_settings(), f"the Secret holds what the bot never reads: {keys - known_settings()}"
    for name in secret_settings() & keys:
        assert is_placeholder(secret["stringData"][name]), f"{name}: a committed Secret holds a real value"


def test_the_secret_and_the_deployment_give_a_valid_configuration(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    values = {**_one("Secret")["stringData"],
              **{variable["name"]: variable["value"] for variable in _bot()["env"]}}
    url = make_url(values.pop("DATABASE_URL"))  # asyncpg is not installed here, so checked apart
    assert url.drivername == "postgresql+asyncpg", "several replicas share PostgreSQL, through asyncpg"
    for name in known_settings():
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    settings.require_slack("http")
    settings.require_capillary()


def test_the_bot_does_not_migrate_the_migration_step_does() -> None:
    bot = _bot()
    env = {variable["name"]: variable.get("value") for variable in bot["env"]}
    assert env["DB_AUTO_UPGRADE"] == "false"
    steps = _pod_spec().get("initContainers", [])
    jobs = [document for _, document in _objects() if document["kind"] == "Job"]
    commands = [[*(step.get("command") or ["commops"]), *step.get("args", [])] for step in steps]
    commands += [[*(container.get("command") or ["commops"]), *container.get("args", [])]
                 for job in jobs for container in job["spec"]["template"]["spec"]["containers"]]
    entrypoint = dockerfile_stages()[-1].one("ENTRYPOINT").exec_form()
    assert entrypoint == ["commops"], "the commands above rely on the image's ENTRYPOINT"
    assert commands == [["commops", "db", "upgrade"]], f"expected one migration step, found {commands}"
    for step in steps:
        assert step["envFrom"] == bot["envFrom"], "the migration must reach the same database"


def test_the_access_policy_is_mounted_read_only_from_the_configmap() -> None:
    bot, pod = _bot(), _pod_spec()
    policy_path = Path({variable["name"]: variable["value"] for variable in bot["env"]}["ACCESS_POLICY"])
    (mount,) = [mount for mount in bot["volumeMounts"] if Path(mount["mountPath"]) == policy_path.parent]
    assert mount["readOnly"] is True
    assert "subPath" not in mount, "a subPath mount never sees the ConfigMap's updates"
    (volume,) = [volume for volume in pod["volumes"] if volume["name"] == mount["name"]]
    config_map = _one("ConfigMap")
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    assert volume["configMap"]["defaultMode"] == 0o444, "the bot refuses a policy writable by group or others"
    assert policy_path.name in config_map["data"]
    assert parse_policy(config_map["data"][policy_path.name], policy_path.name).grants
