#!/usr/bin/env bash
# Offline validation of the deployment files: docker/ (Dockerfile, compose, Redis, Prometheus,
# Grafana) and k8s/ (plain manifests + kustomization). Needs no Docker engine and no cluster.
#
#   bash tools/validate-deploy.sh
#
# Always runs (fatal on any problem): YAML/JSON parsing and structure checks of every file, the
# Dockerfile sanity checks, and the cross-file checks (names, selectors, volumes, Redis settings,
# worker CPU pinning). Runs when its tool is installed, else says how to install it and skips:
#   docker-compose / docker compose   -> `compose config -q`          (apt-get install docker-compose)
#   kubectl                           -> `kubectl kustomize k8s/`     (apt-get install kubernetes-client)
#   hadolint                          -> Dockerfile lint              (not packaged by Debian)
#   node + esbuild (npm ci)           -> CONFIG examples parsed by the real zod schema
# VALIDATE_DEPLOY_STRICT=1 turns every skip into a failure (for CI machines that have the tools).
# Exits non-zero when any check failed.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
STRICT=${VALIDATE_DEPLOY_STRICT:-0}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
skipped=0
ok() { echo "  ok    $*"; passed=$((passed + 1)); }
bad() { echo "  FAIL  $*"; failed=$((failed + 1)); }
skip() {
  if [ "$STRICT" = 1 ]; then bad "(strict) $*"; else echo "  skip  $*"; skipped=$((skipped + 1)); fi
}
section() { echo; echo "== $*"; }

# ------------------------------------------------------------------------------------------------
section "Files"
for f in docker/Dockerfile docker/compose.yaml docker/README.md docker/redis/redis.conf \
  docker/prometheus/prometheus.yml docker/grafana/provisioning/datasources/prometheus.yml \
  docker/grafana/provisioning/dashboards/image-cloud.yml docker/grafana/dashboards/README.md \
  docker/config/image-cloud.example.json k8s/kustomization.yaml .dockerignore tools/build.mjs; do
  if [ -f "$f" ]; then ok "$f exists"; else bad "$f is missing"; fi
done

# ------------------------------------------------------------------------------------------------
section "Python with PyYAML (needed for the structure checks, which always run)"
PY=""
for cand in python3 /usr/bin/python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import yaml' >/dev/null 2>&1; then
    PY=$(command -v "$cand")
    break
  fi
done
if [ -z "$PY" ]; then
  echo "  PyYAML not found; installing Debian's python3-yaml"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get install -y -qq python3-yaml || { apt-get update -qq && apt-get install -y -qq python3-yaml; }; } \
      >"$TMP/apt.log" 2>&1 || tail -5 "$TMP/apt.log"
  else
    echo "  not root or no apt-get: run 'sudo apt-get install -y python3-yaml' (or 'pip install pyyaml')"
  fi
  if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import yaml' >/dev/null 2>&1; then PY=/usr/bin/python3; fi
fi
if [ -z "$PY" ]; then
  bad "no python3 with PyYAML: the structure checks cannot run"
  echo
  echo "validate-deploy: $passed passed, $failed failed, $skipped skipped"
  exit 1
fi
ok "using $PY (PyYAML $("$PY" -c 'import yaml; print(yaml.__version__)'))"

# ------------------------------------------------------------------------------------------------
# The structure checks. Modes: "static" (the files in the repo), "rendered FILE" (kustomize's
# output). Prints ok/FAIL lines and, last, "#counts <passed> <failed>".
cat >"$TMP/check.py" <<'PY'
import json, os, re, sys
import yaml

root = sys.argv[1]
mode = sys.argv[2]
passed = failed = 0

QUIET = mode == "rendered"  # the rendered output repeats the static checks: print failures only

def ok(msg):
    global passed
    passed += 1
    if not QUIET:
        print(f"  ok    {msg}")

def bad(msg):
    global failed
    failed += 1
    print(f"  FAIL  {msg}")

def check(cond, msg, why=""):
    if cond:
        ok(msg)
    else:
        bad(msg + (f": {why}" if why else ""))
    return bool(cond)

def section(title):
    print(f"\n== {title}")

def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]

def cpu_milli(q):
    s = str(q).strip()
    if s.endswith("m"):
        return float(s[:-1])
    return float(s) * 1000

MEM_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
def mem_bytes(q):
    s = str(q).strip()
    for unit in sorted(MEM_UNITS, key=len, reverse=True):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * MEM_UNITS[unit]
    return float(s)

def compose_bytes(q):
    """Compose byte values: 768M, 1G, 512m, 1gb (binary multiples, as docker reads them)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([bkmg]?)b?", str(q).strip().lower())
    return float(m.group(1)) * {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30}[m.group(2)]

def dig(obj, *keys, default=None):
    for k in keys:
        if isinstance(obj, dict) and k in obj:
            obj = obj[k]
        else:
            return default
    return obj

REQUIRED_REDIS = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    "maxmemory-policy": "noeviction",
}

def check_redis_conf(text, where):
    directives = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        directives[key.lower()] = value.strip()
    for key, want in REQUIRED_REDIS.items():
        check(directives.get(key) == want, f"{where}: {key} {want}", f"found {directives.get(key)!r}")
    mm = directives.get("maxmemory")
    check(mm is not None and re.fullmatch(r"\d+(b|kb|mb|gb|k|m|g)?", mm.lower() or "") and not re.fullmatch(r"0+(b|kb|mb|gb|k|m|g)?", mm.lower()),
          f"{where}: maxmemory set ({mm})", "a non-zero maxmemory is needed for headroom below the memory limit")
    check(directives.get("timeout", "0") == "0", f"{where}: no idle client timeout (BullMQ blocking connections)")
    return directives

def redis_maxmemory_bytes(value):
    m = re.fullmatch(r"(\d+)(b|kb|mb|gb|k|m|g)?", value.lower())
    n = int(m.group(1))
    unit = m.group(2) or "b"
    return n * {"b": 1, "k": 1000, "kb": 1024, "m": 10**6, "mb": 1024**2, "g": 10**9, "gb": 1024**3}[unit]

def dist_entries():
    """The app bundles tools/build.mjs produces: dist/<app>/main.js."""
    try:
        text = open(os.path.join(root, "tools/build.mjs")).read()
        m = re.search(r"const apps\s*=\s*\[([^\]]*)\]", text)
        return {f"dist/{app}/main.js" for app in re.findall(r"['\"]([^'\"]+)['\"]", m.group(1))}
    except Exception:
        return {"dist/service-server/main.js", "dist/image-worker/main.js", "dist/launcher/main.js"}

DIST = dist_entries()
SERVER_MAIN = "dist/service-server/main.js"
WORKER_MAIN = "dist/image-worker/main.js"

# ---------------------------------------------------------------------------------------- compose
def check_compose():
    section("docker/compose.yaml (structure)")
    path = os.path.join(root, "docker/compose.yaml")
    try:
        compose = yaml.safe_load(open(path))
    except Exception as e:
        bad(f"compose.yaml parses: {e}")
        return
    ok("compose.yaml parses as YAML")
    services = compose.get("services") or {}
    for name in ["redis", "front", "server", "worker-normal", "worker-big", "prometheus", "grafana"]:
        check(name in services, f"service {name} defined")
    base = os.path.join(root, "docker")

    def env_of(svc):
        env = services.get(svc, {}).get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
        return {k: (None if v is None else str(v)) for k, v in env.items()}

    def command_of(svc):
        cmd = services.get(svc, {}).get("command")
        return " ".join(cmd) if isinstance(cmd, list) else (cmd or "")

    # Bind-mounted host files exist (relative to docker/).
    for svc_name, svc in services.items():
        for vol in svc.get("volumes") or []:
            if not isinstance(vol, str):
                continue
            src = vol.split(":")[0]
            src = re.sub(r"\$\{[A-Za-z_]+:-([^}]*)\}", r"\1", src)
            if src.startswith("."):
                check(os.path.exists(os.path.join(base, src)), f"{svc_name}: mounted {src} exists")

    # Redis.
    redis = services.get("redis", {})
    check("healthcheck" in redis, "redis has a healthcheck")
    check(any(str(v).endswith(":/data") for v in redis.get("volumes") or []), "redis keeps /data on a volume")
    check("redis.conf" in command_of("redis"), "redis starts with the mounted redis.conf")
    conf = open(os.path.join(base, "redis/redis.conf")).read()
    directives = check_redis_conf(conf, "docker/redis/redis.conf")
    limit = dig(redis, "deploy", "resources", "limits", "memory")
    if check(limit, "redis has a memory limit") and directives.get("maxmemory"):
        check(redis_maxmemory_bytes(directives["maxmemory"]) <= 0.8 * compose_bytes(limit),
              f"redis maxmemory {directives['maxmemory']} leaves headroom below the {limit} limit")

    # App services.
    for svc in ["server", "worker-normal", "worker-big"]:
        s = services.get(svc, {})
        env = env_of(svc)
        redis_url = re.sub(r"^\$\{REDIS_URL:-([^}]*)\}$", r"\1", env.get("REDIS_URL", ""))
        check(redis_url.startswith("redis://redis:"), f"{svc}: REDIS_URL points at the redis service unless overridden")
        check(env.get("DATA_DIR") == "/data" and "image-data:/data" in (s.get("volumes") or []),
              f"{svc}: DATA_DIR=/data on the shared image-data volume")
        check(bool(env.get("CONFIG")), f"{svc}: CONFIG set")
        check(env.get("QUEUE_PREFIX") == "{image-cloud}", f"{svc}: QUEUE_PREFIX {{image-cloud}}")
        check(s.get("image") == "image-cloud:dev", f"{svc}: runs the one image-cloud:dev image")
        if "build" in s:
            check(dig(s, "build", "dockerfile") == "docker/Dockerfile" and dig(s, "build", "context") == "..",
                  f"{svc}: build context is the repository root")
        check(dig(s, "depends_on", "redis", "condition") == "service_healthy", f"{svc}: waits for a healthy redis")
    server = services.get("server", {})
    check(SERVER_MAIN in command_of("server") and SERVER_MAIN in DIST, f"server runs {SERVER_MAIN} (built by tools/build.mjs)")
    check("/readyz" in json.dumps(server.get("healthcheck", {})), "server healthcheck probes /readyz")
    check(dig(server, "deploy", "replicas", default=1) >= 2, f"server has {dig(server, 'deploy', 'replicas')} replicas")
    check("build" in server and [n for n, v in services.items() if "build" in v] == ["server"],
          "only the server service builds docker/Dockerfile (one build for every role)")
    check(not server.get("ports"), "server replicas publish no host port (clients come through front)")
    front = services.get("front", {})
    check("5000" in " ".join(str(p) for p in front.get("ports") or []), "front publishes port 5000")
    check("healthcheck" in front, "front has a healthcheck")
    check(os.path.exists(os.path.join(base, "haproxy/haproxy.cfg")), "front's haproxy.cfg exists")
    for svc, lane, cpus in [("worker-normal", "normal", 1), ("worker-big", "big", None)]:
        s = services.get(svc, {})
        env = env_of(svc)
        check(WORKER_MAIN in command_of(svc) and WORKER_MAIN in DIST, f"{svc} runs {WORKER_MAIN}")
        check(env.get("WORKER_LANE") == lane, f"{svc}: WORKER_LANE={lane}")
        check(env.get("UV_THREADPOOL_SIZE") == "4" and env.get("MALLOC_ARENA_MAX") == "2",
              f"{svc}: UV_THREADPOOL_SIZE=4, MALLOC_ARENA_MAX=2")
        check(not s.get("ports"), f"{svc}: publishes no host port")
        check(env.get("METRICS_PORT") == "9464", f"{svc}: METRICS_PORT=9464 (metrics only)")
        grace = str(s.get("stop_grace_period", ""))
        check(re.fullmatch(r"\d+s", grace) and int(grace[:-1]) > 60, f"{svc}: stop_grace_period {grace} > 60 s big-lane budget")
        limit_cpus = dig(s, "deploy", "resources", "limits", "cpus", default=s.get("cpus"))
        if cpus is not None:
            check(limit_cpus is not None and float(limit_cpus) == cpus,
                  f"{svc}: exactly {cpus} CPU per replica", f"found {limit_cpus!r}")
        else:
            check(limit_cpus is not None and float(limit_cpus) >= 1, f"{svc}: CPU limit {limit_cpus}")

    # Prometheus.
    try:
        prom = yaml.safe_load(open(os.path.join(base, "prometheus/prometheus.yml")))
        ok("prometheus.yml parses")
        jobs = prom.get("scrape_configs") or []
        sd = [c for j in jobs for c in (j.get("dns_sd_configs") or [])]
        check(any(set(c.get("names", [])) & {"server", "tasks.server"} and c.get("port") == 5000 for c in sd),
              "prometheus discovers server replicas via dns_sd_configs (server:5000)")
        check(any({"worker-normal", "worker-big"} <= set(c.get("names", [])) and c.get("port") == 9464 for c in sd),
              "prometheus discovers worker replicas via dns_sd_configs (worker-normal, worker-big :9464)")
        check(all(j.get("job_name") for j in jobs), "every scrape job has a job_name")
    except Exception as e:
        bad(f"prometheus.yml parses: {e}")

    # Grafana.
    try:
        ds = yaml.safe_load(open(os.path.join(base, "grafana/provisioning/datasources/prometheus.yml")))
        check(any(d.get("type") == "prometheus" and d.get("url") == "http://prometheus:9090" for d in ds.get("datasources", [])),
              "grafana datasource points at http://prometheus:9090")
        prov = yaml.safe_load(open(os.path.join(base, "grafana/provisioning/dashboards/image-cloud.yml")))
        paths = [dig(p, "options", "path") for p in prov.get("providers", [])]
        mounts = services.get("grafana", {}).get("volumes") or []
        check(any(f"./grafana/dashboards:{p}" in " ".join(mounts) for p in paths if p),
              "grafana dashboards provider path is where docker/grafana/dashboards is mounted")
        for fn in os.listdir(os.path.join(base, "grafana/dashboards")):
            if fn.endswith(".json"):
                try:
                    json.load(open(os.path.join(base, "grafana/dashboards", fn)))
                    ok(f"dashboard {fn} is valid JSON")
                except Exception as e:
                    bad(f"dashboard {fn} is valid JSON: {e}")
    except Exception as e:
        bad(f"grafana provisioning parses: {e}")

    # Example CONFIG.
    try:
        cfg = json.load(open(os.path.join(base, "config/image-cloud.example.json")))
        check(isinstance(cfg.get("tenants"), dict), "docker/config/image-cloud.example.json is JSON with tenants")
        check(all(str(t.get("token", "")).startswith("change-me") for t in cfg["tenants"].values()),
              "example tenant tokens are marked change-me")
    except Exception as e:
        bad(f"docker/config/image-cloud.example.json parses: {e}")

# -------------------------------------------------------------------------------------------- k8s
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
                  "CustomResourceDefinition", "PriorityClass"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet"}
KNOWN_KINDS = {"Namespace", "ConfigMap", "Secret", "PersistentVolumeClaim", "Service", "StatefulSet",
               "Deployment", "PodDisruptionBudget", "NetworkPolicy", "HorizontalPodAutoscaler"}

def pod_spec(doc):
    return dig(doc, "spec", "template", "spec", default={}) or {}

def pod_labels(doc):
    return dig(doc, "spec", "template", "metadata", "labels", default={}) or {}

def env_map(container, configmaps):
    env = {}
    for src in container.get("envFrom") or []:
        name = dig(src, "configMapRef", "name")
        if name in configmaps:
            env.update({k: str(v) for k, v in (configmaps[name].get("data") or {}).items()})
    for e in container.get("env") or []:
        env[e["name"]] = str(e.get("value"))
    return env

def check_k8s(docs, label, rendered):
    by_kind = {}
    seen = set()
    for path, doc in docs:
        where = f"{path}: {doc.get('kind')}/{dig(doc, 'metadata', 'name')}"
        good = (isinstance(doc.get("apiVersion"), str) and doc["apiVersion"]
                and isinstance(doc.get("kind"), str) and doc["kind"]
                and isinstance(dig(doc, "metadata", "name"), str) and doc["metadata"]["name"])
        if not check(good, f"{where}: apiVersion, kind, metadata.name", "missing"):
            continue
        key = (doc["kind"], doc["metadata"]["name"])
        problems = []
        if key in seen:
            problems.append("defined twice")
        seen.add(key)
        ns = dig(doc, "metadata", "namespace")
        if doc["kind"] not in CLUSTER_SCOPED and ns != "image-cloud":
            problems.append(f"namespace {ns!r}, expected 'image-cloud'")
        if doc["kind"] not in KNOWN_KINDS:
            problems.append(f"kind {doc['kind']} is not a built-in kind (no CRDs here)")
        check(not problems, f"{where}: apiVersion, kind, metadata.name; unique; namespace image-cloud; built-in kind",
              "; ".join(problems))
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc

    get = lambda kind, name: by_kind.get(kind, {}).get(name)
    configmaps = by_kind.get("ConfigMap", {})
    secrets = by_kind.get("Secret", {})
    pvcs = by_kind.get("PersistentVolumeClaim", {})

    check(get("Namespace", "image-cloud") is not None, f"{label}: Namespace image-cloud")

    # Workloads: selectors, images, references, resources.
    for kind in WORKLOADS:
        for name, doc in by_kind.get(kind, {}).items():
            where = f"{kind}/{name}"
            sel = dig(doc, "spec", "selector", "matchLabels", default={}) or {}
            labels = pod_labels(doc)
            check(sel and all(labels.get(k) == v for k, v in sel.items()), f"{where}: selector matches pod labels")
            spec = pod_spec(doc)
            claim_templates = {dig(t, "metadata", "name") for t in dig(doc, "spec", "volumeClaimTemplates", default=[]) or []}
            vols = {v["name"]: v for v in spec.get("volumes") or []}
            for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
                cw = f"{where}/{c.get('name')}"
                image = c.get("image", "")
                check(image and not image.endswith(":latest"), f"{cw}: image {image!r} set, not :latest")
                if rendered and image.split(":")[0].endswith("image-cloud"):
                    check(":" in image.rsplit("/", 1)[-1], f"{cw}: kustomize gave the app image a tag ({image})")
                if "image-cloud" in image:
                    check("command" not in c, f"{cw}: uses args, keeping the image's tini ENTRYPOINT as PID 1")
                res = c.get("resources") or {}
                check(dig(res, "requests", "memory") and dig(res, "limits", "memory"), f"{cw}: memory request and limit set")
                check(dig(res, "requests", "cpu") is not None, f"{cw}: cpu request set")
                for m in c.get("volumeMounts") or []:
                    check(m["name"] in vols or m["name"] in claim_templates, f"{cw}: volume {m['name']} defined")
                for src in c.get("envFrom") or []:
                    n = dig(src, "configMapRef", "name")
                    if n:
                        check(n in configmaps, f"{cw}: envFrom ConfigMap {n} exists")
                port_names = {p.get("name") for p in c.get("ports") or []}
                for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                    p = c.get(probe)
                    port = dig(p, "httpGet", "port") if p else None
                    if port is None and p:
                        port = dig(p, "tcpSocket", "port")
                    if isinstance(port, str):
                        check(port in port_names, f"{cw}: {probe} port {port} is a named container port")
            for vname, v in vols.items():
                if "persistentVolumeClaim" in v:
                    check(v["persistentVolumeClaim"]["claimName"] in pvcs, f"{where}: PVC {v['persistentVolumeClaim']['claimName']} exists")
                if "secret" in v:
                    s = secrets.get(v["secret"]["secretName"])
                    check(s is not None, f"{where}: Secret {v['secret']['secretName']} exists")
                    for item in v["secret"].get("items") or []:
                        if s is not None:
                            check(item["key"] in (s.get("stringData") or {}) or item["key"] in (s.get("data") or {}),
                                  f"{where}: Secret key {item['key']} exists")
                if "configMap" in v:
                    check(v["configMap"]["name"] in configmaps, f"{where}: ConfigMap {v['configMap']['name']} exists")
            sc = spec.get("securityContext") or {}
            check(sc.get("runAsNonRoot") is True and isinstance(sc.get("runAsUser"), int) and sc.get("runAsUser") != 0,
                  f"{where}: runs as a non-root uid")

    # Services and PDBs select existing pods.
    all_pods = [pod_labels(d) for k in WORKLOADS for d in by_kind.get(k, {}).values()]
    def selects(sel):
        return any(sel and all(l.get(k) == v for k, v in sel.items()) for l in all_pods)
    for name, svc in by_kind.get("Service", {}).items():
        check(selects(dig(svc, "spec", "selector", default={})), f"Service/{name}: selector matches a workload's pods")
    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        check(selects(dig(pdb, "spec", "selector", "matchLabels", default={})), f"PodDisruptionBudget/{name}: selector matches pods")
    check(any(selects(dig(p, "spec", "selector", "matchLabels", default={})) and
              dig(p, "spec", "selector", "matchLabels", "app.kubernetes.io/component") == "server"
              for p in by_kind.get("PodDisruptionBudget", {}).values()), "server has a PodDisruptionBudget")

    # Server.
    server = get("Deployment", "server")
    if check(server is not None, "Deployment/server exists"):
        c = pod_spec(server)["containers"][0]
        check(server["spec"].get("replicas", 1) >= 2, f"server: {server['spec'].get('replicas')} replicas")
        check(dig(c, "readinessProbe", "httpGet", "path") == "/readyz", "server: readiness probe /readyz")
        check(dig(c, "livenessProbe", "httpGet", "path") == "/healthz", "server: liveness probe /healthz")
        check(any(p.get("containerPort") == 5000 for p in c.get("ports") or []), "server: container port 5000")
        check(SERVER_MAIN in " ".join(c.get("args") or []) and SERVER_MAIN in DIST, f"server: runs {SERVER_MAIN}")
        check(pod_spec(server).get("terminationGracePeriodSeconds") == 30, "server: terminationGracePeriodSeconds 30")
        env = env_map(c, configmaps)
        check(env.get("REDIS_URL", "").startswith("redis://redis"), "server: REDIS_URL points at the redis Service")
        check(env.get("DATA_DIR") == "/data" and env.get("CONFIG"), "server: DATA_DIR and CONFIG set")
    if server is not None:
        svc = get("Service", "server")
        check(svc is not None and any(p.get("targetPort") in ("http", 5000) for p in dig(svc, "spec", "ports", default=[])),
              "Service/server targets the server's http port")

    # Workers: Guaranteed QoS, integer CPUs (static CPU manager pinning).
    for name, lane, want_cpu in [("worker-normal", "normal", 1000), ("worker-big", "big", None)]:
        w = get("Deployment", name)
        if not check(w is not None, f"Deployment/{name} exists"):
            continue
        spec = pod_spec(w)
        containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
        for c in containers:
            cw = f"{name}/{c.get('name')}"
            req, lim = dig(c, "resources", "requests", default={}), dig(c, "resources", "limits", default={})
            try:
                rc, lc = cpu_milli(req.get("cpu")), cpu_milli(lim.get("cpu"))
                check(rc == lc, f"{cw}: cpu request == limit ({req.get('cpu')} / {lim.get('cpu')})")
                check(rc > 0 and rc % 1000 == 0, f"{cw}: cpu is a whole number of cores ({req.get('cpu')}), so the static CPU manager pins it")
                if want_cpu is not None:
                    check(rc == want_cpu, f"{cw}: exactly {want_cpu // 1000} CPU", f"found {req.get('cpu')}")
            except (TypeError, ValueError):
                bad(f"{cw}: cpu request and limit are set and numeric ({req.get('cpu')!r} / {lim.get('cpu')!r})")
            try:
                check(mem_bytes(req.get("memory")) == mem_bytes(lim.get("memory")),
                      f"{cw}: memory request == limit ({req.get('memory')} / {lim.get('memory')}) -> Guaranteed QoS")
            except (TypeError, ValueError):
                bad(f"{cw}: memory request and limit are set ({req.get('memory')!r} / {lim.get('memory')!r})")
        c = spec["containers"][0]
        env = env_map(c, configmaps)
        check(WORKER_MAIN in " ".join(c.get("args") or []) and WORKER_MAIN in DIST, f"{name}: runs {WORKER_MAIN}")
        check(env.get("WORKER_LANE") == lane, f"{name}: WORKER_LANE={lane}")
        check(env.get("UV_THREADPOOL_SIZE") == "4" and env.get("MALLOC_ARENA_MAX") == "2", f"{name}: UV_THREADPOOL_SIZE=4, MALLOC_ARENA_MAX=2")
        check(env.get("REDIS_URL", "").startswith("redis://redis"), f"{name}: REDIS_URL points at the redis Service")
        check([p.get("containerPort") for p in c.get("ports") or []] == [9464] and env.get("METRICS_PORT") == "9464",
              f"{name}: listens only on METRICS_PORT 9464 (GET /metrics)")
        check(spec.get("terminationGracePeriodSeconds") == 90, f"{name}: terminationGracePeriodSeconds 90 (> 60 s big-lane budget)")
    wn = get("Deployment", "worker-normal")
    if wn is not None:
        check(wn["spec"].get("replicas") == 4, f"worker-normal: {wn['spec'].get('replicas')} replicas")

    # Storage, config, Redis.
    pvc = pvcs.get("image-data")
    storage_kind = ((configmaps.get("image-cloud-env") or {}).get("data") or {}).get("STORAGE_KIND") or "local"
    if storage_kind == "s3":
        # Images in a bucket: no shared volume; DATA_DIR only holds each pod's cache tier.
        check(pvc is None, "S3 storage: no PersistentVolumeClaim/image-data")
        for name in ["server", "worker-normal", "worker-big"]:
            d = get("Deployment", name)
            data = next((v for v in dig(pod_spec(d), "volumes", default=[]) or [] if v.get("name") == "data"), {}) if d else {}
            check("emptyDir" in data and "persistentVolumeClaim" not in data, f"{name}: S3 storage, DATA_DIR on an emptyDir")
            env_from = dig(pod_spec(d), "containers", default=[{}])[0].get("envFrom") or [] if d else []
            check(any(dig(e, "secretRef", "name") == "image-cloud-s3-credentials" for e in env_from), f"{name}: AWS_* credentials from Secret/image-cloud-s3-credentials")
        s3sec = secrets.get("image-cloud-s3-credentials")
        if check(s3sec is not None, "Secret/image-cloud-s3-credentials exists"):
            keys = s3sec.get("stringData") or {}
            check(sorted(keys) == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] and all(str(v).startswith("change-me") for v in keys.values()),
                  "S3 credentials Secret: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, placeholders marked change-me")
    elif check(pvc is not None, "PersistentVolumeClaim/image-data exists"):
        check("ReadWriteMany" in (dig(pvc, "spec", "accessModes", default=[]) or []), "image-data is ReadWriteMany")
    sec = secrets.get("image-cloud-config")
    if check(sec is not None, "Secret/image-cloud-config exists"):
        raw = (sec.get("stringData") or {}).get("config.json")
        try:
            cfg = json.loads(raw)
            check(isinstance(cfg.get("tenants"), dict), "Secret config.json is JSON with tenants")
            tokens = [t.get("token", "") for t in cfg["tenants"].values()] + cfg.get("signingKeys", [])
            check(all(str(t).startswith("change-me") for t in tokens), "Secret placeholders are marked change-me")
            if not rendered:
                with open(os.path.join(os.environ.get("VALIDATE_TMP", "/tmp"), "k8s-config.json"), "w") as f:
                    f.write(raw)
        except Exception as e:
            bad(f"Secret config.json parses as JSON: {e}")
    rcm = configmaps.get("redis-config")
    if check(rcm is not None and "redis.conf" in (rcm.get("data") or {}), "ConfigMap redis-config has redis.conf"):
        directives = check_redis_conf(rcm["data"]["redis.conf"], "k8s redis.conf")
        sts = get("StatefulSet", "redis")
        if check(sts is not None, "StatefulSet/redis exists"):
            check(dig(sts, "spec", "volumeClaimTemplates"), "redis: persistent volume claim template")
            check(get("Service", dig(sts, "spec", "serviceName")) is not None, "redis: governing Service exists")
            lim = dig(pod_spec(sts), "containers", default=[{}])[0].get("resources", {}).get("limits", {}).get("memory")
            if lim and directives.get("maxmemory"):
                check(redis_maxmemory_bytes(directives["maxmemory"]) <= 0.8 * mem_bytes(lim),
                      f"redis maxmemory {directives['maxmemory']} leaves headroom below the {lim} limit")
    check(get("Service", "redis") is not None, "Service/redis (REDIS_URL host) exists")

def load_k8s_static():
    section("k8s/ (every file parses; structure)")
    kdir = os.path.join(root, "k8s")
    files = sorted(f for f in os.listdir(kdir) if f.endswith((".yaml", ".yml")))
    docs = []
    kust = None
    for f in files:
        try:
            loaded = load_all(os.path.join(kdir, f))
            ok(f"k8s/{f} parses ({len(loaded)} document{'s' if len(loaded) != 1 else ''})")
        except Exception as e:
            bad(f"k8s/{f} parses: {e}")
            continue
        if f == "kustomization.yaml":
            kust = loaded[0]
            continue
        docs += [(f"k8s/{f}", d) for d in loaded]
    if check(kust is not None, "k8s/kustomization.yaml present"):
        res = kust.get("resources") or []
        manifest_files = [f for f in files if f != "kustomization.yaml"]
        for r in res:
            check(r in files, f"kustomization resource {r} exists")
        for f in manifest_files:
            check(f in res, f"k8s/{f} is listed in kustomization.yaml")
        check(kust.get("namespace") == "image-cloud", "kustomization namespace image-cloud")
    return docs

if mode == "static":
    check_compose()
    docs = load_k8s_static()
    section("k8s/ (cross-references, probes, QoS, Redis settings)")
    check_k8s(docs, "k8s", rendered=False)
elif mode == "rendered":
    section("kubectl kustomize output (structure)")
    try:
        docs = [(f"rendered", d) for d in load_all(sys.argv[3])]
        ok(f"rendered output parses ({len(docs)} documents)")
        check_k8s(docs, "rendered", rendered=True)
    except Exception as e:
        bad(f"rendered output parses: {e}")
    if not failed:
        print(f"  ok    {passed} checks on the rendered output (same as above, plus image tags set by kustomize)")
print(f"#counts {passed} {failed}")
PY

run_py() {
  local out
  out=$(VALIDATE_TMP="$TMP" "$PY" "$TMP/check.py" "$ROOT" "$@" 2>&1)
  local rc=$?
  echo "$out" | grep -v '^#counts '
  local counts
  counts=$(echo "$out" | grep '^#counts ' | tail -1)
  if [ -z "$counts" ] || [ $rc -ne 0 ]; then
    bad "structure checker crashed (exit $rc)"
    return
  fi
  set -- $counts
  passed=$((passed + $2))
  failed=$((failed + $3))
}

run_py static

# ------------------------------------------------------------------------------------------------
section "Dockerfile (sanity checks; hadolint is not packaged by Debian)"
DF=docker/Dockerfile
df_has() { grep -Eq "$1" "$DF"; }
from_count=$(grep -Ec '^FROM ' "$DF")
[ "$from_count" -ge 2 ] && ok "multi-stage ($from_count stages)" || bad "multi-stage build (found $from_count FROM lines)"
base_ok=1
while read -r _ image _; do
  case "$image" in
    'node:20-bookworm-slim') ;;
    '${NODE_IMAGE}') grep -Eqx 'ARG NODE_IMAGE=node:20-bookworm-slim' "$DF" || base_ok=0 ;;
    *) base_ok=0 ;;
  esac
done < <(grep -E '^FROM ' "$DF")
[ $base_ok = 1 ] && ok "every stage is node:20-bookworm-slim (glibc, for sharp's prebuilt libvips)" \
  || bad "every stage should be node:20-bookworm-slim"
grep -v '^[[:space:]]*#' "$DF" | grep -qi alpine && bad "no Alpine base (sharp's prebuilt binaries are glibc)" || ok "no Alpine base"
df_has '^FROM .* AS builder$' && ok "builder stage" || bad "builder stage named 'builder'"
df_has 'npm ci' && df_has 'npm run build' && ok "builder runs npm ci + npm run build" || bad "builder runs npm ci + npm run build"
df_has 'npm ci .*--omit=dev' && ok "runtime node_modules from npm ci --omit=dev" || bad "runtime node_modules from npm ci --omit=dev"
df_has 'COPY --from=builder /app/dist' && ok "runtime copies dist from the builder" || bad "runtime copies dist from the builder"
df_has 'NODE_ENV=production' && ok "NODE_ENV=production" || bad "NODE_ENV=production"
df_has 'NX_DAEMON=false' && ok "NX_DAEMON=false" || bad "NX_DAEMON=false"
last_user=$(grep -E '^USER ' "$DF" | tail -1 | awk '{print $2}')
case "${last_user%%:*}" in
  '' ) bad "runtime sets a non-root USER" ;;
  0 | root ) bad "runtime USER is root" ;;
  *[!0-9]* ) bad "USER $last_user: use a numeric uid so Kubernetes runAsNonRoot can verify it" ;;
  * ) ok "runtime runs as numeric non-root USER $last_user" ;;
esac
grep -E '^(CMD|ENTRYPOINT) ' "$DF" | grep -vq '\[' && bad "CMD/ENTRYPOINT in exec form (signals reach node)" || ok "CMD/ENTRYPOINT in exec form"
df_has '^CMD \["node", "dist/service-server/main.js"\]' && ok "default command runs the server bundle" || bad "default command runs dist/service-server/main.js"
grep -Eq '^ADD +https?://' "$DF" && bad "no ADD from URLs" || ok "no ADD from URLs"
grep -E '^FROM ' "$DF" | grep -q ':latest' && bad "no :latest base image" || ok "no :latest base image"
if df_has 'apt-get install'; then
  df_has 'apt-get install .*--no-install-recommends' && df_has 'rm -rf /var/lib/apt/lists' \
    && ok "apt-get install uses --no-install-recommends and cleans lists" || bad "apt-get install: --no-install-recommends + rm -rf /var/lib/apt/lists"
fi
for entry in node_modules dist data .nx coverage .git; do
  grep -Eqx "(\*\*/)?$(printf '%s' "$entry" | sed 's/\./\\./g')/?" .dockerignore \
    && ok ".dockerignore excludes $entry" || bad ".dockerignore excludes $entry"
done
if command -v hadolint >/dev/null 2>&1; then
  if hadolint "$DF"; then ok "hadolint $DF"; else bad "hadolint $DF"; fi
else
  skip "hadolint not installed (no Debian package; it is a single static binary from its GitHub releases)"
fi

# ------------------------------------------------------------------------------------------------
section "docker compose config"
ran_compose=0
if command -v docker-compose >/dev/null 2>&1; then
  ran_compose=1
  if docker-compose -f docker/compose.yaml config -q >"$TMP/compose.log" 2>&1; then
    ok "docker-compose ($(docker-compose version --short 2>/dev/null || echo v1)) -f docker/compose.yaml config -q"
  else
    cat "$TMP/compose.log"
    bad "docker-compose -f docker/compose.yaml config -q"
  fi
fi
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  ran_compose=1
  if docker compose -f docker/compose.yaml config -q >"$TMP/compose2.log" 2>&1; then
    ok "docker compose ($(docker compose version --short 2>/dev/null)) -f docker/compose.yaml config -q"
  else
    cat "$TMP/compose2.log"
    bad "docker compose -f docker/compose.yaml config -q"
  fi
fi
[ $ran_compose = 1 ] || skip "no docker-compose / docker compose: install with 'apt-get install -y docker-compose'"

# ------------------------------------------------------------------------------------------------
section "kubectl kustomize k8s/"
if command -v kubectl >/dev/null 2>&1; then
  if kubectl kustomize k8s/ >"$TMP/rendered.yaml" 2>"$TMP/kustomize.err"; then
    ok "kubectl kustomize k8s/ renders ($(grep -c '^kind: ' "$TMP/rendered.yaml") objects)"
    run_py rendered "$TMP/rendered.yaml"
  else
    cat "$TMP/kustomize.err"
    bad "kubectl kustomize k8s/"
  fi
  # The KEDA overlay must render too (an overlay inside its base's directory is a kustomize cycle);
  # its ScaledObjects are CRDs, validated against KEDA's schema by npm test (tools/deployment).
  if kubectl kustomize k8s-keda/ >"$TMP/rendered-keda.yaml" 2>"$TMP/kustomize-keda.err"; then
    ok "kubectl kustomize k8s-keda/ renders ($(grep -c '^kind: ' "$TMP/rendered-keda.yaml") objects, $(grep -c '^kind: ScaledObject' "$TMP/rendered-keda.yaml") ScaledObjects)"
  else
    cat "$TMP/kustomize-keda.err"
    bad "kubectl kustomize k8s-keda/"
  fi
  # The S3 overlay: the same checks on its output, which has no PersistentVolumeClaim at all.
  if kubectl kustomize k8s-s3/ >"$TMP/rendered-s3.yaml" 2>"$TMP/kustomize-s3.err"; then
    ok "kubectl kustomize k8s-s3/ renders ($(grep -c '^kind: ' "$TMP/rendered-s3.yaml") objects)"
    if grep -qi 'persistentVolumeClaim' "$TMP/rendered-s3.yaml"; then bad "k8s-s3/ still mounts or declares a PersistentVolumeClaim"; else ok "k8s-s3/ has no PersistentVolumeClaim"; fi
    run_py rendered "$TMP/rendered-s3.yaml"
  else
    cat "$TMP/kustomize-s3.err"
    bad "kubectl kustomize k8s-s3/"
  fi
else
  skip "kubectl not installed: 'apt-get install -y kubernetes-client' (or any kubectl); the checks above already parsed every manifest"
fi

# ------------------------------------------------------------------------------------------------
section "CONFIG examples against the config lib's zod schema"
SCHEMA=libs/config/src/config-file-schema.ts
if command -v node >/dev/null 2>&1 && [ -x node_modules/.bin/esbuild ] && [ -f "$SCHEMA" ]; then
  cat >"$TMP/parse-config.ts" <<EOF
import { readFileSync } from 'node:fs';
import { configFileSchema } from '$ROOT/$SCHEMA';
let bad = 0;
for (const file of process.argv.slice(2)) {
  const result = configFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!result.success) {
    bad++;
    for (const issue of result.error.issues) console.log(\`    \${file}: \${issue.path.join('.')}: \${issue.message}\`);
  }
}
process.exit(bad ? 1 : 0);
EOF
  if node_modules/.bin/esbuild "$TMP/parse-config.ts" --bundle --platform=node --format=cjs \
      --outfile="$TMP/parse-config.cjs" --log-level=error >"$TMP/esbuild.log" 2>&1; then
    for cfg in docker/config/image-cloud.example.json "$TMP/k8s-config.json"; do
      name=$cfg
      [ "$cfg" = "$TMP/k8s-config.json" ] && name="k8s/config-secret.yaml config.json"
      if [ ! -f "$cfg" ]; then bad "$name was not extracted"; continue; fi
      if node "$TMP/parse-config.cjs" "$cfg"; then ok "$name passes configFileSchema"; else bad "$name passes configFileSchema"; fi
    done
  else
    cat "$TMP/esbuild.log"
    skip "could not bundle $SCHEMA (the config lib is being changed?); JSON syntax was checked above"
  fi
else
  skip "node, node_modules/.bin/esbuild (npm ci) or $SCHEMA missing; JSON syntax was checked above"
fi

# ------------------------------------------------------------------------------------------------
echo
echo "validate-deploy: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
