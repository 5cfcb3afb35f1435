"""The canned text of a demo step's log: git, test, lint, build, scan and deploy output that
fits the TaskRun it belongs to (runlake.demo.simulate), deterministic per run and step.

Pure logic: no I/O, no global random state.
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime

from runlake.demo.simulate import random_hex

GREEN, RED, YELLOW, CYAN, BOLD, DIM, RESET = (
    "\x1b[32m",
    "\x1b[31m",
    "\x1b[33m",
    "\x1b[36m",
    "\x1b[1m",
    "\x1b[2m",
    "\x1b[0m",
)

_GO_PKGS = (
    "internal/ledger",
    "internal/settlement",
    "internal/api",
    "internal/store",
    "internal/webhooks",
    "pkg/money",
    "pkg/retry",
    "cmd/server",
)
_GO_TESTS = (
    "TestSettlementRounding",
    "TestLedgerBalance",
    "TestWebhookRetry",
    "TestIdempotencyKey",
    "TestCurrencyConversion",
    "TestRefundFlow",
    "TestPagination",
    "TestRateLimiter",
    "TestStoreMigrations",
    "TestAuthMiddleware",
)
_PY_MODULES = (
    "test_ingest.py",
    "test_schema.py",
    "test_api.py",
    "test_batching.py",
    "test_s3_sink.py",
    "test_dedupe.py",
    "test_config.py",
)
_JS_SUITES = (
    "src/cart/Cart.test.tsx",
    "src/checkout/Payment.test.tsx",
    "src/components/Button.test.tsx",
    "src/hooks/useSession.test.ts",
    "src/pages/Orders.test.tsx",
    "src/utils/format.test.ts",
)


def _find_step(obj: dict, step_name: str) -> tuple[dict, list[dict]]:
    """The step named `step_name`, and the steps before it."""
    steps = (obj.get("status") or {}).get("steps") or []
    for i, step in enumerate(steps):
        if step.get("name") == step_name:
            return step, steps[:i]
    raise KeyError(
        f"{obj.get('kind', 'object')} {obj['metadata'].get('name')!r} has no step {step_name!r}"
    )


def _param(obj: dict, name: str, default: str = "") -> str:
    for p in (obj.get("spec") or {}).get("params") or ():
        if p.get("name") == name:
            return str(p.get("value"))
    return default


def _result(obj: dict, name: str, default: str = "") -> str:
    for r in (obj.get("status") or {}).get("results") or ():
        if r.get("name") == name:
            return str(r.get("value"))
    return default


def _epoch(ts: str | None) -> int:
    if not ts:
        return 0
    return int(datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def demo_step_log(obj: dict, step_name: str) -> str:
    """A plausible log for step `step_name` of a TaskRun from `generate`: git, test, lint,
    build, scan or deploy output according to its Task, a failing test or error when the
    step exited non-zero, cut short when it was cancelled, timed out or is still running,
    and empty when it never ran. Deterministic; some tools' output carries ANSI colours.
    Raises KeyError for a step the TaskRun does not have."""
    step, before = _find_step(obj, step_name)
    term = step.get("terminated")
    if term is None and "running" not in step:
        return ""  # waiting: the container has not started
    if term is not None and (
        term.get("startedAt") is None or step.get("terminationReason") == "Skipped"
    ):
        return ""
    if any((s.get("terminated") or {}).get("reason") != "Completed" for s in before):
        return ""  # an earlier step is still running, or was stopped: this one never ran
    labels = obj["metadata"].get("labels") or {}
    task = labels.get("tekton.dev/task", "")
    rng = random.Random(f"{obj['metadata'].get('uid')}/{step_name}")
    started = _epoch((term or step["running"]).get("startedAt"))
    exit_code = term.get("exitCode", 0) if term else 0
    failed = bool(term) and exit_code != 0 and term.get("reason") in ("Error", "OOMKilled")
    interrupted = term is None or (exit_code != 0 and not failed)
    maker = _LOGS.get((task, step_name), _generic_log)
    lines = maker(rng, obj, step_name, started, failed, exit_code)
    if interrupted:  # still running, or killed by a cancel or timeout: output stops mid-way
        lines = lines[: max(1, int(len(lines) * rng.uniform(0.3, 0.8)))]
    return "\n".join(lines) + "\n"


def _zap(level: str, ts: float, caller: str, msg: str) -> str:
    """A line as Tekton's git-init (zap's JSON encoder) logs it."""
    return json.dumps(
        {"level": level, "ts": round(ts, 6), "caller": caller, "msg": msg}, separators=(",", ":")
    )


def _git_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    url = _param(obj, "url", "https://github.com/acme/app.git")
    rev = _param(obj, "revision", random_hex(rng, 40))
    ts = t + rng.random()
    lines = [
        "+ '[' false = true ']'",
        "+ '[' false = true ']'",
        "+ CHECKOUT_DIR=/workspace/output/",
        "+ '[' true = true ']'",
        "+ cleandir",
        "+ '[' -d /workspace/output/ ']'",
        "+ rm -rf '/workspace/output/*'",
        "+ test -z ''",
        "+ test -z ''",
        "+ test -z ''",
        f"+ /ko-app/git-init -url={url} -revision={rev} -refspec= -path=/workspace/output/ "
        "-sslVerify=true -submodules=true -depth=1 -sparseCheckoutDirectories=",
    ]
    if failed:
        lines.append(
            _zap(
                "error",
                ts + 1.3,
                "git/git.go:53",
                (
                    "Error running git [fetch --recurse-submodules=yes --depth=1 origin "
                    f"--update-head-ok --force {rev}]: exit status 128\n"
                    "remote: Repository not found."
                    f"\nfatal: repository '{url.removesuffix('.git')}/' not found\n"
                ),
            )
        )
        lines.append(
            _zap(
                "fatal",
                ts + 1.3,
                "git-init/main.go:54",
                (f"Error fetching git repository: failed to fetch [{rev}]: exit status 128"),
            )
        )
        return lines
    took = rng.uniform(0.8, 9.0)
    lines += [
        _zap(
            "info",
            ts + took,
            "git/git.go:176",
            f"Successfully cloned {url} @ {rev} (grafted, HEAD) in path /workspace/output/",
        ),
        _zap(
            "info",
            ts + took + 0.05,
            "git/git.go:215",
            "Successfully initialized and updated submodules in path /workspace/output/",
        ),
        "+ cd /workspace/output/",
        "++ git rev-parse HEAD",
        f"+ RESULT_SHA={rev}",
        "+ EXIT_CODE=0",
        "+ '[' 0 '!=' 0 ']'",
        "++ git log -1 --pretty=%ct",
        f"+ RESULT_COMMITTER_DATE={t - rng.randint(60, 90000)}",
        f"+ printf '%s' {rev}",
        f"+ printf '%s' {url}",
    ]
    return lines


def _go_test_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    repo = (obj["metadata"].get("labels") or {}).get("repo", "app")
    mod = f"github.com/acme/{repo}"
    lines = [
        f"go: downloading {dep}"
        for dep in rng.sample(
            (
                "github.com/stretchr/testify v1.9.0",
                "github.com/jackc/pgx/v5 v5.5.5",
                "go.uber.org/zap v1.27.0",
                "github.com/google/uuid v1.6.0",
                "golang.org/x/sync v0.7.0",
                "github.com/prometheus/client_golang v1.19.0",
            ),
            4,
        )
    ]
    bad_pkg = rng.choice(_GO_PKGS) if failed else None
    for pkg in _GO_PKGS:
        if pkg == bad_pkg:
            test = rng.choice(_GO_TESTS)
            want = rng.randint(100, 99999)
            lines += [
                f"=== RUN   {test}",
                f"    {test.removeprefix('Test').lower()}_test.go:{rng.randint(20, 300)}: ",
                f"        \tError Trace:\t{test.removeprefix('Test').lower()}_test.go:88",
                f"        \tError:      \tNot equal: expected: {want}, actual  : {want - 1}",
                f"        \tTest:       \t{test}",
                f"--- FAIL: {test} ({rng.uniform(0, 0.5):.2f}s)",
                "FAIL",
                f"FAIL\t{mod}/{pkg}\t{rng.uniform(0.05, 4):.3f}s",
            ]
        elif rng.random() < 0.2:
            lines.append(f"?   \t{mod}/{pkg}\t[no test files]")
        else:
            lines.append(
                f"ok  \t{mod}/{pkg}\t{rng.uniform(0.02, 6):.3f}s\t"
                f"coverage: {rng.uniform(45, 92):.1f}% of statements"
            )
    if failed:
        lines.append("FAIL")
    return lines


def _pytest_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    if step == "install-deps":
        lines = [
            f"Collecting {p}"
            for p in (
                "fastapi==0.110.0",
                "pydantic==2.6.4",
                "boto3==1.34.69",
                "pytest==8.1.1",
                "httpx==0.27.0",
            )
        ]
        if failed:
            return [
                *lines,
                f"{RED}ERROR: Could not find a version that satisfies the "
                f"requirement internal-sdk==2.3.1 (from versions: none){RESET}",
                f"{RED}ERROR: No matching distribution found for internal-sdk==2.3.1{RESET}",
            ]
        return [
            *lines,
            "Installing collected packages: ...",
            f"Successfully installed {rng.randint(30, 80)} packages",
        ]
    n = rng.randint(120, 480)
    lines = [
        f"{BOLD}============================= test session starts "
        f"=============================={RESET}",
        "platform linux -- Python 3.11.8, pytest-8.1.1, pluggy-1.4.0",
        "rootdir: /workspace/source",
        "configfile: pyproject.toml",
        f"collected {n} items",
        "",
    ]
    bad = rng.choice(_PY_MODULES) if failed else None
    for mod in _PY_MODULES:
        dots = "".join(
            RED + "F" + RESET + GREEN if mod == bad and rng.random() < 0.1 else "."
            for _ in range(rng.randint(8, 40))
        )
        if mod == bad and "F" not in dots:
            dots += RED + "F" + RESET
        lines.append(f"tests/{mod} {GREEN}{dots}{RESET}{'':<4}[{rng.randint(1, 100):>3}%]")
    elapsed = rng.uniform(20, 200)
    if failed:
        test = f"test_{rng.choice(('dedupe_window', 'schema_evolution', 'retry_backoff'))}"
        lines += [
            "",
            f"{BOLD}{RED}=================================== FAILURES "
            f"==================================={RESET}",
            f"{RED}{BOLD}____________________ {test} ____________________{RESET}",
            "",
            f"    def {test}():",
            "        batch = make_batch(size=3)",
            f"{BOLD}{RED}>       assert dedupe(batch) == 2{RESET}",
            f"{BOLD}{RED}E       assert 3 == 2{RESET}",
            "",
            f"tests/{bad}:{rng.randint(10, 200)}: AssertionError",
            f"{BOLD}========================= short test summary info "
            f"=========================={RESET}",
            f"{RED}FAILED{RESET} tests/{bad}::{test} - assert 3 == 2",
            f"{RED}================== {RED}{BOLD}1 failed{RESET}, {GREEN}{n - 1} passed"
            f"{RESET}{RED} in {elapsed:.2f}s =================={RESET}",
        ]
    else:
        lines += [
            "",
            f"{GREEN}============================= {BOLD}{n} passed{RESET}{GREEN}"
            f" in {elapsed:.2f}s ============================={RESET}",
        ]
    return lines


def _lint_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    if step == "eslint":
        if not failed:
            return ["> storefront@0.1.0 lint", "> eslint . --max-warnings=0", ""]
        f = rng.choice(_JS_SUITES).replace(".test", "")
        return [
            "> storefront@0.1.0 lint",
            "> eslint . --max-warnings=0",
            "",
            f"{BOLD}/workspace/source/{f}{RESET}",
            f"  {DIM}{rng.randint(3, 120)}:{rng.randint(1, 40)}{RESET}  {RED}error{RESET}"
            f"  'session' is assigned a value but never used  "
            f"{DIM}@typescript-eslint/no-unused-vars{RESET}",
            f"  {DIM}{rng.randint(3, 120)}:{rng.randint(1, 40)}{RESET}  {YELLOW}warning"
            f"{RESET}  Unexpected console statement  {DIM}no-console{RESET}",
            "",
            f"{RED}{BOLD}✖ 2 problems (1 error, 1 warning){RESET}",
            "",
        ]
    if step == "ruff":
        if not failed:
            return ["All checks passed!"]
        return [
            f"{BOLD}src/ingest/batch.py{RESET}{CYAN}:{RESET}41{CYAN}:{RESET}5{CYAN}:{RESET}"
            f" {RED}{BOLD}F841{RESET} Local variable `started` is assigned to but never "
            "used",
            "Found 1 error.",
            "[*] 1 fixable with the `--fix` option.",
        ]
    if step == "mypy":
        if not failed:
            return [
                f"{GREEN}{BOLD}Success: no issues found in {rng.randint(40, 160)} source "
                f"files{RESET}"
            ]
        return [
            'src/ingest/sink.py:88: error: Argument 1 to "put" has incompatible type '
            '"bytes | None"; expected "bytes"  [arg-type]',
            f"{RED}{BOLD}Found 1 error in 1 file (checked {rng.randint(40, 160)} source "
            f"files){RESET}",
        ]
    # golangci-lint
    lines = [
        'level=info msg="[config_reader] Config search paths: [./ /workspace/source /]"',
        f'level=info msg="[lintersdb] Active {rng.randint(8, 20)} linters: [errcheck '
        'gosimple govet ineffassign staticcheck unused]"',
        f'level=info msg="[loader] Go packages loading at mode 575 took {rng.uniform(2, 30):.6f}s"',
        f'level=info msg="Execution took {rng.uniform(10, 60):.6f}s"',
    ]
    if failed:
        lines[3:3] = [
            f"internal/ledger/post.go:{rng.randint(10, 300)}:{rng.randint(2, 30)}: "
            "Error return value of `tx.Rollback` is not checked (errcheck)",
            "\tdefer tx.Rollback()",
            "\t            ^",
        ]
    return lines


def _jest_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    lines = ["> storefront@0.1.0 test", "> jest --ci --coverage", ""]
    bad = rng.choice(_JS_SUITES) if failed else None
    for suite in _JS_SUITES:
        if suite == bad:
            lines += [
                f"{RED}{BOLD} FAIL {RESET} {DIM}src/{RESET}{BOLD}{suite[4:]}{RESET}",
                f"  {RED}● {suite.rsplit('/', 1)[1].split('.')[0]} › renders the total{RESET}",
                "",
                "    expect(received).toBe(expected) // Object.is equality",
                "",
                f'    Expected: {GREEN}"€42.00"{RESET}',
                f'    Received: {RED}"€42"{RESET}',
                "",
            ]
        else:
            lines.append(
                f"{GREEN}{BOLD} PASS {RESET} {DIM}src/{RESET}{BOLD}{suite[4:]}{RESET}"
                f" ({rng.uniform(0.5, 9):.3f} s)"
            )
    n = rng.randint(80, 400)
    suites = len(_JS_SUITES)
    if failed:
        lines += [
            "",
            f"{BOLD}Test Suites: {RESET}{RED}{BOLD}1 failed{RESET}, {GREEN}{BOLD}"
            f"{suites - 1} passed{RESET}, {suites} total",
            f"{BOLD}Tests:       {RESET}{RED}{BOLD}1 failed{RESET}, {GREEN}{BOLD}{n - 1} "
            f"passed{RESET}, {n} total",
        ]
    else:
        lines += [
            "",
            f"{BOLD}Test Suites: {RESET}{GREEN}{BOLD}{suites} passed{RESET}, {suites} total",
            f"{BOLD}Tests:       {RESET}{GREEN}{BOLD}{n} passed{RESET}, {n} total",
        ]
    lines.append(f"{BOLD}Time:{RESET}        {rng.uniform(10, 120):.3f} s")
    return lines


def _npm_ci_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    if failed:
        return [
            "npm ERR! code ECONNRESET",
            "npm ERR! network aborted",
            "npm ERR! network This is a problem related to network connectivity.",
            "npm ERR! A complete log of this run can be found in: /root/.npm/_logs/debug-0.log",
        ]
    return [
        "npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.",
        "",
        f"added {rng.randint(900, 1900)} packages, and audited {rng.randint(1900, 2000)} "
        f"packages in {rng.randint(20, 120)}s",
        "",
        f"{rng.randint(150, 260)} packages are looking for funding",
        "  run `npm fund` for details",
        "",
        f"{rng.randint(0, 6)} moderate severity vulnerabilities",
    ]


def _kaniko_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    if step == "write-url":
        return [_param(obj, "IMAGE", "registry.acme.dev/app:latest")]
    image = _param(obj, "IMAGE", "registry.acme.dev/app:latest")
    digest = _result(obj, "IMAGE_DIGEST", f"sha256:{random_hex(rng, 64)}")
    s = 0
    lines = []
    for msg in (
        "Retrieving image manifest golang:1.22-alpine",
        "Retrieving image golang:1.22-alpine from registry index.docker.io",
        "Built cross stage deps: map[0:[/out/server]]",
        "Executing 0 build triggers",
        "Building stage 'golang:1.22-alpine' [idx: '0']",
        "Unpacking rootfs as cmd COPY go.mod go.sum ./ requires it.",
        "COPY go.mod go.sum ./",
        "Taking snapshot of files...",
        "RUN go mod download",
        "Initializing snapshotter ...",
        "Taking snapshot of full filesystem...",
        "COPY . .",
        "RUN CGO_ENABLED=0 go build -trimpath -o /out/server ./cmd/server",
        "Taking snapshot of full filesystem...",
        "Retrieving image manifest gcr.io/distroless/static:nonroot",
        "COPY --from=build /out/server /server",
        "USER nonroot:nonroot",
        'ENTRYPOINT ["/server"]',
    ):
        s += rng.randint(0, 25)
        lines.append(f"{CYAN}INFO{RESET}[{s:04d}] {msg}")
    if failed:
        if code == 137:
            return lines[: rng.randint(9, 14)]
        lines.append(
            f"{RED}ERRO{RESET}[{s:04d}] error building image: error building stage: "
            "failed to execute command: waiting for process to exit: exit status 1"
        )
        return lines
    lines.append(f"{CYAN}INFO{RESET}[{s + 2:04d}] Pushing image to {image}")
    lines.append(
        f"{CYAN}INFO{RESET}[{s + rng.randint(5, 30):04d}] Pushed {image.rsplit(':', 1)[0]}@{digest}"
    )
    return lines


def _buildah_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    image = _param(obj, "IMAGE", "registry.acme.dev/app:latest")
    if step == "push":
        digest = _result(obj, "IMAGE_DIGEST", f"sha256:{random_hex(rng, 64)}")
        if failed:
            return [
                f'Error: pushing image "{image}": writing blob: initiating layer upload '
                "to registry.acme.dev: unexpected status: 503 Service Unavailable"
            ]
        return [
            "Getting image source signatures",
            *(f"Copying blob sha256:{random_hex(rng, 64)}" for _ in range(rng.randint(3, 6))),
            f"Copying config sha256:{random_hex(rng, 64)}",
            "Writing manifest to image destination",
            digest,
        ]
    lines = [
        "STEP 1/9: FROM docker.io/library/python:3.11-slim AS build",
        "STEP 2/9: WORKDIR /app",
        "STEP 3/9: COPY requirements.txt .",
        "STEP 4/9: RUN pip install --no-cache-dir -r requirements.txt",
        f"Successfully installed {rng.randint(25, 70)} packages",
        "STEP 5/9: COPY . .",
        "STEP 6/9: RUN python -m compileall -q src",
        "STEP 7/9: USER 1001",
        "STEP 8/9: EXPOSE 8080",
        'STEP 9/9: CMD ["python", "-m", "ingest"]',
    ]
    if failed:
        if code == 137:
            return lines[:5]
        return [
            *lines[:4],
            "ERROR: Could not find a version that satisfies the requirement internal-sdk==2.3.1",
            'error building at STEP "RUN pip install '
            '--no-cache-dir -r requirements.txt": exit status 1',
        ]
    return [
        *lines,
        f"COMMIT {image}",
        f"--> {random_hex(rng, 12)}",
        f"Successfully tagged {image}",
        random_hex(rng, 64),
    ]


def _trivy_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    target = _param(obj, "IMAGE", "") or "/workspace/source"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
    high = rng.randint(1, 3) if failed else 0
    crit = rng.randint(1, 2) if failed else 0
    ms = sorted(rng.sample(range(100, 1000), 3))
    lines = [
        f"{stamp}.{ms[0]}Z\t{CYAN}INFO{RESET}\tVulnerability scanning is enabled",
        f"{stamp}.{ms[1]}Z\t{CYAN}INFO{RESET}\tDetected OS: debian",
        f"{stamp}.{ms[2]}Z\t{CYAN}INFO{RESET}\tNumber of language-specific "
        f"files: {rng.randint(1, 4)}",
        "",
        f"{target} (debian 12.5)",
        "=" * 40,
        f"Total: {high + crit} (HIGH: {high}, CRITICAL: {crit})",
        "",
    ]
    if failed:
        lines += [
            "┌──────────┬────────────────┬──────────┬───────────────────┐",
            "│ Library  │ Vulnerability  │ Severity │ Installed Version │",
            "├──────────┼────────────────┼──────────┼───────────────────┤",
            f"│ openssl  │ CVE-2024-{rng.randint(1000, 9999)}  │ {RED}CRITICAL{RESET} │ "
            "3.0.11-1~deb12u2  │",
            f"│ libexpat │ CVE-2024-{rng.randint(1000, 9999)}  │ {YELLOW}HIGH{RESET}     "
            "│ 2.5.0-1           │",
            "└──────────┴────────────────┴──────────┴───────────────────┘",
        ]
    return lines


def _gitleaks_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    lines = [
        "",
        "    ○",
        "    │╲",
        "    │ ○",
        "    ○ ░",
        "    ░    gitleaks",
        "",
        f"{DIM}{time.strftime('%I:%M%p', time.gmtime(t))}{RESET} {GREEN}INF{RESET} "
        f"{rng.randint(1, 400)} commits scanned.",
        f"{DIM}{time.strftime('%I:%M%p', time.gmtime(t))}{RESET} {GREEN}INF{RESET} scan "
        f"completed in {rng.randint(200, 4000)}ms",
    ]
    if failed:
        lines.append(
            f"{DIM}{time.strftime('%I:%M%p', time.gmtime(t))}{RESET} {RED}WRN{RESET} leaks found: 1"
        )
    else:
        lines.append(
            f"{DIM}{time.strftime('%I:%M%p', time.gmtime(t))}{RESET} {GREEN}INF{RESET}"
            " no leaks found"
        )
    return lines


def _helm_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    release = _param(obj, "release_name", "app")
    ns = _param(obj, "release_namespace", "default")
    if step == "uninstall":
        return [f'release "{release}" uninstalled']
    lines = [
        f"history.go:56: [debug] getting history for release {release}",
        f"upgrade.go:164: [debug] preparing upgrade for {release}",
        f"upgrade.go:172: [debug] performing update for {release}",
        f"upgrade.go:344: [debug] waiting for release {release} resources (created: 0 "
        f"updated: {rng.randint(3, 9)}  deleted: 0)",
        "wait.go:48: [debug] beginning wait for 6 resources with timeout of 5m0s",
        f"ready.go:297: [debug] Deployment is not ready: {ns}/{release}. 0 out of 2 "
        "expected pods are ready",
    ]
    if failed:
        return [
            *lines,
            "Error: UPGRADE FAILED: context deadline exceeded",
            "helm.go:84: [debug] context deadline exceeded",
        ]
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(t))
    return [
        *lines,
        f'Release "{release}" has been upgraded. Happy Helming!',
        f"NAME: {release}",
        f"LAST DEPLOYED: {stamp}",
        f"NAMESPACE: {ns}",
        "STATUS: deployed",
        f"REVISION: {rng.randint(2, 400)}",
        "TEST SUITE: None",
    ]


def _argocd_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    app = _param(obj, "application-name", "app")
    if step == "login":
        return [
            "'admin:login' logged in successfully",
            "Context 'argocd-server.argocd.svc.cluster.local' updated",
        ]
    lines = [
        "TIMESTAMP                  GROUP        KIND   NAMESPACE   NAME    STATUS    "
        "HEALTH        HOOK  MESSAGE",
        f"{time.strftime('%Y-%m-%dT%H:%M:%S+00:00', time.gmtime(t))}  apps  Deployment  "
        f"{app}  {app}  OutOfSync  Healthy",
        "",
        f"Name:               argocd/{app}",
        f"Sync Revision:      {random_hex(rng, 40)}",
    ]
    if failed:
        return [
            *lines,
            "Phase:              Failed",
            "Message:            one or more objects failed to apply, reason: "
            'Deployment.apps "' + app + '" is invalid: spec.template.spec.containers[0]'
            ".image: Required value",
            f"FATA[{rng.randint(30, 200):04d}] Operation has completed with phase: Failed",
        ]
    return [
        *lines,
        "Phase:              Succeeded",
        "Message:            successfully synced (all tasks run)",
        "",
        "Health Status:      Healthy",
    ]


def _integration_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    if step == "setup":
        target = _param(obj, "target", "staging")
        lines = [f"waiting for deployment in {target} to become ready..."]
        if failed:
            return [
                *lines,
                f"{RED}error: timed out waiting for the condition on deployments/api{RESET}",
            ]
        return [
            *lines,
            'deployment "api" successfully rolled out',
            "seeding test data: "
            f"{rng.randint(20, 200)} accounts, {rng.randint(100, 5000)} transactions",
        ]
    return _go_test_log(rng, obj, step, t, failed, code)


def _cypress_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    specs = ("checkout.cy.ts", "login.cy.ts", "search.cy.ts", "orders.cy.ts")
    bad = rng.choice(specs) if failed else None
    lines = [
        "",
        "=" * 80,
        "",
        "  (Run Starting)",
        "",
        "  │ Cypress:        13.7.1",
        "  │ Browser:        Electron 118 (headless)",
        f"  │ Specs:          {len(specs)} found ({', '.join(specs)})",
        "",
    ]
    for spec in specs:
        lines += [f"  Running:  {spec}", ""]
        if spec == bad:
            lines += [
                f"    {RED}1) adds an item and pays{RESET}",
                "",
                f"  {GREEN}{rng.randint(2, 9)} passing{RESET}",
                f"  {RED}1 failing{RESET}",
                "",
                f"  1) {spec}",
                "       adds an item and pays:",
                f"     {RED}AssertionError: Timed out retrying after 4000ms: Expected to "
                f"find element: `[data-test=order-confirmation]`, but never found it."
                f"{RESET}",
                "",
            ]
        else:
            lines += [
                f"  {GREEN}✓{RESET} {DIM}renders ({rng.randint(100, 3000)}ms){RESET}",
                f"  {GREEN}{rng.randint(2, 12)} passing{RESET}",
                "",
            ]
    lines.append(
        f"  {RED}✖  1 of {len(specs)} failed{RESET}"
        if failed
        else f"  {GREEN}✔  All specs passed!{RESET}"
    )
    return lines


def _dbt_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    def at(k: int) -> str:
        return time.strftime("%H:%M:%S", time.gmtime(t + k))

    lines = [f"{at(0)}  Running with dbt=1.7.4", f"{at(1)}  Registered adapter: postgres=1.7.4"]
    if step == "deps":
        return [
            *lines,
            f"{at(2)}  Installing dbt-labs/dbt_utils",
            f"{at(4)}  Installed from version 1.1.1",
            f"{at(4)}  Up to date!",
        ]
    models = rng.randint(30, 140)
    lines.append(f"{at(2)}  Found {models} models, {rng.randint(50, 300)} tests, 12 sources")
    lines.append(f"{at(3)}  Concurrency: 8 threads (target='prod')")
    k = 3
    for i in range(1, 9):
        k += rng.randint(1, 30)
        verb = "table model" if step == "run" else "test"
        lines.append(
            f"{at(k)}  {i} of {models} OK created sql {verb} analytics.fct_orders_{i}"
            f" {'.' * 20} [{GREEN}SELECT {rng.randint(100, 900000)}{RESET} in "
            f"{rng.uniform(0.2, 60):.2f}s]"
        )
    if failed:
        lines += [
            f"{at(k + 1)}  {RED}Failure in test not_null_fct_orders_customer_id{RESET}",
            f"{at(k + 1)}    Got {rng.randint(1, 90)} results, configured to fail if != 0",
            f"{at(k + 2)}  Done. PASS={models - 1} WARN=0 {RED}ERROR=1{RESET} SKIP=0 "
            f"TOTAL={models}",
        ]
    else:
        lines += [
            f"{at(k + 1)}  {GREEN}Completed successfully{RESET}",
            f"{at(k + 2)}  Done. PASS={models} WARN=0 ERROR=0 SKIP=0 TOTAL={models}",
        ]
    return lines


def _generic_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    task = (obj["metadata"].get("labels") or {}).get("tekton.dev/task", "task")
    lines = [f"+ {task} {step}"]
    samples = {
        "migrate": [
            "Flyway Community Edition 10.10.0 by Redgate",
            "Successfully validated 42 migrations (execution time 00:00.081s)",
            'Current version of schema "public": 41',
            'Migrating schema "public" to version "42 - add refund reason"',
        ],
        "pg-dump": [
            'pg_dump: dumping contents of table "public.events"',
            'pg_dump: dumping contents of table "public.orders"',
        ],
        "upload": ["upload: ./warehouse.dump to s3://acme-backups/warehouse/warehouse.dump"],
        "cleanup": [
            'namespace "storefront-pr-1812" deleted',
            'namespace "payments-api-pr-377" deleted',
        ],
        "copy": [
            "Getting image source signatures",
            "Copying blob sha256:" + random_hex(rng, 64),
            "Writing manifest to image destination",
        ],
        "sign": ["Pushing signature to: registry.acme.dev/" + random_hex(rng, 8)],
        "post": ['{"ok":true}'],
    }
    lines += samples.get(step, [f"{step}: working ({rng.randint(1, 100)} items)"])
    if failed:
        lines.append(f"{RED}error: {step} failed with exit code {code}{RESET}")
    else:
        lines.append(f"{GREEN}done{RESET}")
    return lines


_LOGS = {
    ("git-clone", "clone"): _git_log,
    ("golang-test", "unit-test"): _go_test_log,
    ("golangci-lint", "lint"): _lint_log,
    ("python-lint", "ruff"): _lint_log,
    ("python-lint", "mypy"): _lint_log,
    ("eslint", "eslint"): _lint_log,
    ("pytest", "install-deps"): _pytest_log,
    ("pytest", "pytest"): _pytest_log,
    ("npm-ci", "npm-ci"): _npm_ci_log,
    ("jest", "jest"): _jest_log,
    ("kaniko", "build-and-push"): _kaniko_log,
    ("kaniko", "write-url"): _kaniko_log,
    ("buildah", "build"): _buildah_log,
    ("buildah", "push"): _buildah_log,
    ("trivy-scanner", "trivy-scan"): _trivy_log,
    ("trivy-fs", "scan-filesystem"): _trivy_log,
    ("gitleaks", "detect"): _gitleaks_log,
    ("helm-upgrade-from-repo", "upgrade"): _helm_log,
    ("helm-uninstall", "uninstall"): _helm_log,
    ("argocd-task-sync-and-wait", "login"): _argocd_log,
    ("argocd-task-sync-and-wait", "sync-and-wait"): _argocd_log,
    ("integration-tests", "setup"): _integration_log,
    ("integration-tests", "run-tests"): _integration_log,
    ("cypress-e2e", "cypress-run"): _cypress_log,
    ("dbt-deps", "deps"): _dbt_log,
    ("dbt-run", "run"): _dbt_log,
    ("dbt-test", "test"): _dbt_log,
}
